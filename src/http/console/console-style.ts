/** The console's stylesheet (served as /console.css): the portal's sober look, readable focus, no external font. */
export const CONSOLE_STYLE = String.raw`
:root { --ink: #1d2733; --muted: #5b6775; --line: #d6dde5; --bg: #f4f6f9; --card: #fff; --brand: #0b5cad; --fr: #1f77b4; --eu: #7b4fb5;
  --m80: #c58a00; --m100: #1d2733; --reduction: #d9480f; --block: #c92a2a; --exposure: #ffe3e3; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
.top { display: flex; gap: 1rem; align-items: baseline; padding: .7rem 1.5rem; background: var(--brand); color: #fff; }
.top a { color: #fff; font-weight: 700; text-decoration: none; }
.top .where { opacity: .85; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.45rem; margin: .6rem 0; }
h2 { font-size: 1.15rem; margin: 0 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .3rem; }
a { color: var(--brand); }
:focus-visible { outline: 3px solid #f59f00; outline-offset: 2px; }
.crumbs, .lede, .mode, small, .hint { color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.2rem; margin: 1rem 0; }
table { border-collapse: collapse; width: 100%; background: var(--card); }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef2f6; font-weight: 600; font-size: .9rem; }
.facts-grid { border: 1px solid var(--line); margin: .5rem 0 1rem; }
.button, button { display: inline-block; padding: .35rem .8rem; border-radius: 4px; border: 1px solid var(--brand); background: var(--brand); color: #fff; font: inherit; text-decoration: none; cursor: pointer; }
.button.secondary, button.secondary { background: #fff; color: var(--brand); }
button:disabled { opacity: .45; cursor: not-allowed; }
.search { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: 1rem 0; }
.search label { flex-basis: 100%; font-weight: 600; }
.search input, .login input, select { font: inherit; padding: .35rem .5rem; border: 1px solid #9aa7b5; border-radius: 4px; min-width: 22rem; }
.login { display: grid; gap: .5rem; max-width: 28rem; }
.error { color: var(--block); font-weight: 600; }
.tabs { border-bottom: 2px solid var(--line); margin: 1rem 0 .5rem; }
.tabs a { display: inline-block; padding: .4rem .9rem; text-decoration: none; }
.tabs a[aria-current] { border-bottom: 3px solid var(--brand); font-weight: 600; }
.ref { font-weight: 600; }
.meters { display: grid; gap: .45rem; margin: .6rem 0; }
.meter { display: grid; grid-template-columns: 7rem 1fr 11rem; gap: .6rem; align-items: center; }
.meter-label { font-weight: 600; }
.meter-figure { font-variant-numeric: tabular-nums; text-align: right; }
.bar { width: 100%; height: 24px; display: block; }
.bar .track { fill: #e9edf2; }
.bar .exposure { fill: var(--exposure); }
.bar .fill-fr { fill: var(--fr); }
.bar .fill-eu { fill: var(--eu); }
.bar .mark { stroke-width: 2; }
.mark-80 { stroke: var(--m80); background: var(--m80); }
.mark-100 { stroke: var(--m100); background: var(--m100); }
.mark-reduction { stroke: var(--reduction); background: var(--reduction); }
.mark-block { stroke: var(--block); background: var(--block); }
.marks { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; list-style: none; padding: 0; margin: .2rem 0 .8rem; font-size: .9rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .35rem; vertical-align: -1px; border-radius: 2px; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: .6rem 1.2rem; margin: .5rem 0; }
.facts dt { color: var(--muted); font-size: .85rem; }
.facts dd { margin: 0; font-weight: 600; }
.state-reduced { color: var(--reduction); }
.state-blocked { color: var(--block); }
.actions { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .5rem; align-items: flex-start; }
.change summary { display: inline-block; padding: .35rem .8rem; border-radius: 4px; background: var(--brand); color: #fff; cursor: pointer; }
.change[open] { flex-basis: 100%; }
.change form { display: grid; gap: .5rem; max-width: 40rem; margin-top: .6rem; padding: .8rem; border: 1px solid var(--line); border-radius: 6px; }
.buttons { display: flex; gap: .5rem; justify-content: flex-end; }
.when { border: 1px solid var(--line); border-radius: 4px; padding: .4rem .7rem; display: grid; gap: .25rem; }
.when legend { font-weight: 600; padding: 0 .3rem; }
.preview { border-left: 4px solid var(--brand); background: #f7fafd; padding: .5rem .8rem; }
.preview h3 { margin-top: 0; }
.preview .verdict-rejected { color: var(--block); font-weight: 600; }
.alert { border: 1px solid var(--block); background: #fff5f5; color: #7d1a1a; padding: .5rem .7rem; border-radius: 4px; }
.outcome-applied strong, .outcome-scheduled strong { color: #2b8a3e; }
.outcome-cancelled strong { color: var(--muted); }
.outcome-rejected strong, .outcome-failed strong { color: var(--block); }
.events { list-style: none; padding: 0; margin: 0; max-height: 22rem; overflow: auto; }
.events li { padding: .35rem 0; border-bottom: 1px solid var(--line); font-size: .92rem; }
.events time { color: var(--muted); font-variant-numeric: tabular-nums; margin-right: .4rem; }
.live { font-size: .85rem; color: var(--muted); }
.logout { margin-top: 1.5rem; }
`;
