import { html, page } from './html.js';

/** What a person without a session sees: a form for the admin token, and nothing of the data. */
export function loginPage(next: string, failed: boolean): string {
  return page(
    'Connexion',
    html`<h1>Connexion à la console</h1>
<form class="login" method="post" action="/login">
<input type="hidden" name="next" value="${next}">
<label for="token">Jeton d'administration (OPENSIM_ADMIN_TOKEN)</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
${failed ? html`<p class="error" role="alert">Jeton invalide.</p>` : ''}
<button type="submit">Se connecter</button>
</form>`,
  );
}

export function disabledPage(): string {
  return page('Console désactivée', html`<h1>Console désactivée</h1><p>Définissez OPENSIM_ADMIN_TOKEN pour l'activer.</p>`);
}
