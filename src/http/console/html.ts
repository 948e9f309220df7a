/**
 * Server-rendered HTML without a framework: a tagged template that escapes every value unless it
 * is already `Html` (a fragment built the same way). Escaping by default is what keeps a line's
 * user name or a resource id from ever becoming markup.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

type Value = Html | string | number | null | undefined | false | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  return new Html(strings.reduce((out, part, i) => out + part + (i < values.length ? render(values[i]!) : ''), ''));
}

/** The page frame: French, one stylesheet and one script of our own (the CSP allows nothing else). */
export function page(title: string, body: Html, options: { script?: boolean } = {}): string {
  return html`<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · MyOpenIP OpenSIM</title>
<link rel="stylesheet" href="/console.css">
${options.script ? html`<script src="/console.js" defer></script>` : ''}
</head>
<body>
<header class="top"><a href="/" class="brand">MyOpenIP · OpenSIM</a><span class="where">Paramétrage / Monitoring</span></header>
<main id="main">
${body}
</main>
</body>
</html>
`.text;
}
