/// The console's style sheet: system fonts, no images.
let consoleStyle = """
:root { --fg: #1d232b; --muted: #6b7480; --line: #dde2e8; --accent: #2457c5; --bad: #b3261e; --bg: #f7f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1em; align-items: center; padding: .6em 1.2em; background: #fff; border-bottom: 1px solid var(--line); }
header form { margin-left: auto; }
.brand { font-weight: 700; font-size: 1.1em; color: var(--fg); text-decoration: none; }
main { padding: 1em 1.2em; }
a { color: var(--accent); }
h2 { font-size: 1.15em; margin: .2em 0 .6em; }
h3 { font-size: 1em; margin: 1em 0 .3em; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { padding: .35em .6em; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
thead th { font-weight: 600; color: var(--muted); font-size: .85em; text-transform: uppercase; letter-spacing: .03em; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.badge { background: #fff3cd; color: #6b4e00; border-radius: 3px; padding: 0 .4em; font-size: .85em; }
.error, .error-line { color: var(--bad); }
.error-line { font-family: ui-monospace, monospace; font-size: .85em; }
.notice { color: #1b6b2f; }
#message { padding: 0 1.2em; min-height: 1.4em; margin-top: .5em; }
.actions { display: flex; gap: .4em; flex-wrap: wrap; }
main > .actions { margin: .3em 0 .6em; }
button { font: inherit; padding: .15em .7em; border: 1px solid var(--line); border-radius: 4px; background: #fff; cursor: pointer; }
button:hover { border-color: var(--accent); }
button.link { border: none; background: none; color: var(--accent); }
.tabs { display: flex; gap: .2em; margin-bottom: .6em; }
.tabs a { padding: .25em .7em; border-radius: 4px; text-decoration: none; }
.tabs a.current { background: var(--accent); color: #fff; }
.tabs .count { margin-left: .35em; font-size: .85em; opacity: .75; }
h2 .badge { margin-left: .6em; }
td.time { white-space: nowrap; }
.pager { display: flex; gap: 1em; margin: .4em 0; color: var(--muted); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; background: #fff; border: 1px solid var(--line); padding: .6em 1em; }
dt { color: var(--muted); }
dd { margin: 0; }
pre { background: #fff; border: 1px solid var(--line); padding: .6em; overflow: auto; max-height: 24em; margin: 0; }
body.login { display: grid; place-items: center; min-height: 100vh; }
body.login form { background: #fff; border: 1px solid var(--line); padding: 1.5em 2em; display: grid; gap: .6em; min-width: 18em; }
body.login h1 { margin: 0 0 .3em; font-size: 1.3em; }
input { font: inherit; padding: .3em .5em; border: 1px solid var(--line); border-radius: 4px; }
"""
