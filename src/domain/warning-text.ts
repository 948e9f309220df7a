/**
 * The SMS a line's user receives when a threshold is crossed. In French, like the portal
 * ("Consultez l'onglet Monitoring…"); quantities as the portal shows them: Gio with one
 * decimal, euros with two, a French decimal comma.
 */
import type { Month } from './calendar.js';
import type { ThresholdCrossedData } from './events.js';
import type { LineMonth } from './line-month.js';
import { unreachable } from './thresholds.js';

const GIB = 2 ** 30;
const MONTHS = ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'];

export function warningText(crossing: ThresholdCrossedData, record: LineMonth): string {
  const month = monthName(crossing.month);
  switch (crossing.threshold) {
    case 'ENVELOPE_80':
      return `OpenSIM : vous avez utilisé 80 % de votre enveloppe data de ${month} (${gib(crossing.value)} sur ${gib(record.envelope.totalBytes ?? 0)}).`;
    case 'ENVELOPE_100': {
      const block = record.thresholds.blockBytes;
      const beyond = block !== null && block > crossing.limit ? ` Au-delà, la data est facturée hors forfait jusqu'au seuil de blocage (${gib(block)}).` : '';
      return `OpenSIM : votre enveloppe data de ${month} (${gib(crossing.limit)}) est épuisée.${beyond}`;
    }
    case 'REDUCTION':
      return `OpenSIM : seuil de réduction atteint (${gib(crossing.limit)}) : votre débit data est réduit jusqu'à la fin de ${month}.`;
    case 'BLOCK':
      return `OpenSIM : seuil de blocage atteint (${gib(crossing.limit)}) : la data est bloquée jusqu'à la fin de ${month}.`;
    case 'COST_CAP':
      return `OpenSIM : plafond de dépenses atteint (${euros(crossing.limit)}) : la data est bloquée jusqu'à la fin de ${month}.`;
    default:
      return unreachable(crossing.threshold);
  }
}

function monthName(month: Month): string {
  const [year, number] = month.split('-');
  return `${MONTHS[Number(number) - 1]} ${year}`;
}

function gib(bytes: number): string {
  return `${(bytes / GIB).toFixed(1).replace('.', ',')} Gio`;
}

function euros(cents: number): string {
  return `${(cents / 100).toFixed(2).replace('.', ',')} €`;
}
