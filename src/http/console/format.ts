/**
 * Figures as the portal shows them, in French: bytes in Gio (GiB, 2^30 bytes: the portal's
 * "5 Gio"), money in euros, dates in Paris time. Intl with an explicit locale and time zone
 * gives the same text on every host.
 */
const GIB = 2 ** 30;
const number = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat('fr-FR', { style: 'percent', maximumFractionDigits: 0 });
const date = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'short', timeZone: 'Europe/Paris' });
const dateTime = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'short', timeStyle: 'medium', timeZone: 'Europe/Paris' });
const longDate = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeZone: 'Europe/Paris' });
const monthName = new Intl.DateTimeFormat('fr-FR', { month: 'long', year: 'numeric', timeZone: 'Europe/Paris' });

export function gib(bytes: number | null): string {
  return bytes === null ? '—' : `${number.format(bytes / GIB)} Gio`;
}

/** "30 €" for whole euros (as the portal writes it), "12,50 €" otherwise. */
export function euros(cents: number | null): string {
  if (cents === null) return '—';
  const whole = cents % 100 === 0;
  return new Intl.NumberFormat('fr-FR', { style: 'currency', currency: 'EUR', minimumFractionDigits: whole ? 0 : 2, maximumFractionDigits: 2 }).format(cents / 100);
}

export function ratio(value: number, of: number | null): string {
  return of === null || of === 0 ? '—' : percent.format(value / of);
}

export function day(instant: string | null | undefined): string {
  return instant ? date.format(new Date(instant)) : 'NC';
}

export function moment(instant: string | null | undefined): string {
  return instant ? dateTime.format(new Date(instant)) : '—';
}

/** "1 décembre 2026" (Paris). */
export function longDay(instant: string): string {
  return longDate.format(new Date(instant));
}

/** "novembre 2026" for "2026-11" (the 15th, noon Paris, is in the month whatever the offset). */
export function month(value: string): string {
  return monthName.format(new Date(`${value}-15T12:00:00+01:00`));
}

const LINE_STATES: Record<string, string> = { active: 'Actif', suspended: 'Suspendu', terminated: 'Résilié' };
const RESOURCE_STATES: Record<string, string> = { available: 'Disponible', active: 'Actif', reserved: 'Réservé' };
const DATA_STATES: Record<string, string> = { normal: 'Normal', reduced: 'Débit réduit', blocked: 'Bloqué' };
const CATEGORIES: Record<string, string> = { DATA_ONLY: 'Data Only', VOICE_DATA_METERED: 'Voix + Data au Compteur', DATA_PLUS_PER_GB: 'Data + Data au Go' };
const THRESHOLDS: Record<string, string> = { ENVELOPE_80: '80 % de l’enveloppe', ENVELOPE_100: '100 % de l’enveloppe', REDUCTION: 'Seuil de réduction', BLOCK: 'Seuil de blocage', COST_CAP: 'Plafond de dépense' };

/** Why a request or a cancel was refused, in words; the contract's code follows in parentheses. */
const REASONS: Record<string, string> = {
  TENANT_MISMATCH: 'la ligne n’appartient pas à ce compte client',
  UNKNOWN_LINE: 'ligne inconnue',
  UNKNOWN_RESOURCE: 'ressource inconnue',
  TARGET_NOT_AVAILABLE: 'la ressource choisie n’est pas disponible',
  CATEGORY_MISMATCH: 'la ressource choisie est d’une autre catégorie de forfait',
  SAME_PLAN: 'la ligne a déjà ce forfait',
  LINE_NOT_ACTIVE: 'la ligne n’est pas active',
  STALE_REQUEST: 'un changement plus récent a déjà été appliqué',
  CHANGE_ALREADY_SCHEDULED: 'un changement est déjà programmé sur cette ligne : annulez-le d’abord',
  INVALID_EFFECTIVE_DATE: 'date d’effet invalide',
  NOT_SCHEDULED: 'aucun changement programmé à annuler (déjà appliqué, refusé ou annulé)',
  INVALID_PAYLOAD: 'demande invalide',
  RETRIES_EXHAUSTED: 'échec après plusieurs tentatives',
};

export function reasonText(code: string): string {
  const words = REASONS[code];
  return words ? `${words} (${code})` : code;
}

const label = (table: Record<string, string>) => (value: string | null | undefined) => (value ? (table[value] ?? value) : 'NC');
export const lineState = label(LINE_STATES);
/** Services use the line states' words (the portal's "État du service: Actif"). */
export const serviceState = label(LINE_STATES);
export const resourceState = label(RESOURCE_STATES);
export const dataState = label(DATA_STATES);
export const category = label(CATEGORIES);
export const threshold = label(THRESHOLDS);
