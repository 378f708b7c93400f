/**
 * The dashboard's only static files, served by the Worker (no CDN): one stylesheet and one small
 * script. The pages work without the script; it only (1) remembers the browser's time zone in a
 * cookie the first time and reloads once so dates show in it, (2) leaves empty filter fields out
 * of the URL, and (3) asks before deleting or revoking. URLs carry a content hash, so they are
 * cached for a year and a new build is fetched at once.
 */

export const CSS = `
:root{--fg:#1d2330;--muted:#5b6475;--line:#e3e6ea;--bg:#f6f7f9;--card:#fff;--accent:#1d5fd1;--warn:#fff4e0;--warnfg:#7a4a00;--bad:#c0262d}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
header.top{background:#1d2330;color:#fff;padding:10px 16px;display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center}
header.top a{color:#cfe0ff;text-decoration:none}header.top a[aria-current]{color:#fff;font-weight:600;text-decoration:underline}
header.top .brand{font-weight:700;color:#fff;margin-right:8px}
header.top nav{display:flex;flex-wrap:wrap;gap:4px 14px;flex:1}
header.top form{margin:0}
header.top button{background:none;border:1px solid #56607a;color:#fff;border-radius:4px;padding:3px 10px;cursor:pointer}
.who{color:#aab4c8;font-size:13px}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:22px;margin:4px 0 12px}h2{font-size:17px;margin:22px 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card .label{color:var(--muted);font-size:13px}.card .value{font-size:22px;font-weight:600}
.card .sub{color:var(--muted);font-size:12px}
.panel{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px;margin:12px 0}
.warn{background:var(--warn);color:var(--warnfg);border:1px solid #f0c98a;border-radius:8px;padding:10px 12px;margin:12px 0}
.flash{background:#e8f5ec;border:1px solid #9fd3b0;border-radius:8px;padding:10px 12px;margin:12px 0}
.error{background:#fdecec;border:1px solid #f0a8ab;color:#7a1117;border-radius:8px;padding:10px 12px;margin:12px 0}
.secret{font-family:ui-monospace,monospace;word-break:break-all;background:#fff;border:1px dashed #999;padding:8px;display:block}
form.filters{display:flex;flex-wrap:wrap;gap:8px 12px;align-items:flex-end;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
form.filters label,form.stack label{display:flex;flex-direction:column;font-size:12px;color:var(--muted);gap:2px}
input,select,button{font:inherit}
input,select{padding:4px 6px;border:1px solid #c5cbd3;border-radius:4px;background:#fff;min-width:0}
input[type=date]{width:10.5em}
button.primary,input[type=submit]{background:var(--accent);color:#fff;border:0;border-radius:4px;padding:5px 12px;cursor:pointer}
button.danger{background:#fff;color:var(--bad);border:1px solid var(--bad);border-radius:4px;padding:3px 10px;cursor:pointer}
details.more{flex-basis:100%}details.more summary{cursor:pointer;color:var(--accent);font-size:13px}
details.more .row{display:flex;flex-wrap:wrap;gap:8px 12px;margin-top:6px}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
caption{text-align:left;color:var(--muted);font-size:13px;padding:4px 0}
tfoot th,tfoot td{font-weight:600}
.chart{width:100%;height:auto;display:block}
.chart .grid{stroke:#e8eaee}.chart .tick{font-size:11px;fill:#5b6475}
.legend{list-style:none;padding:0;margin:6px 0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:13px}
.split{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
.muted{color:var(--muted)}.small{font-size:13px}td.muted{white-space:normal;min-width:14em}
.bar{display:block;width:160px;height:10px}
dl.record{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}dl.record dt{color:var(--muted)}dl.record dd{margin:0}
pre{background:#1d2330;color:#e7ecf5;padding:10px;border-radius:6px;overflow:auto;font-size:13px}
.inline{display:inline}
p code,.who{overflow-wrap:anywhere}
fieldset{border:1px solid var(--line);border-radius:6px;display:flex;flex-wrap:wrap;gap:8px 12px;align-items:flex-end}
fieldset label{display:flex;flex-direction:column;font-size:12px;color:var(--muted)}
.login{max-width:420px;margin:48px auto}.login input[type=password]{width:100%}
@media (max-width:600px){main{padding:10px}h1{font-size:19px}.card .value{font-size:19px}}
`;

export const JS = `
(function(){
  var b=document.body;
  try{
    var zone=Intl.DateTimeFormat().resolvedOptions().timeZone;
    var c="tg_tz="+encodeURIComponent(zone);
    // Once: a zone the server does not take leaves the cookie set and the page in UTC, not reloading.
    if(zone&&b.getAttribute("data-tz-source")==="default"&&zone!==b.getAttribute("data-tz")&&document.cookie.split("; ").indexOf(c)<0){
      document.cookie=c+"; Path=/; Max-Age=31536000; SameSite=Strict"+(location.protocol==="https:"?"; Secure":"");
      location.reload();return;
    }
    var z=document.querySelector("input[name=tz][data-browser]");if(z&&zone)z.value=zone;
  }catch(e){}
  document.querySelectorAll("form[method=get]").forEach(function(f){
    f.addEventListener("submit",function(){
      f.querySelectorAll("input,select").forEach(function(i){if(i.name&&!i.value)i.disabled=true});
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function(f){
    f.addEventListener("submit",function(e){if(!confirm(f.getAttribute("data-confirm")))e.preventDefault()});
  });
})();
`;

/** FNV-1a of the text, as a cache-busting version. */
function version(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(36);
}

export const CSS_PATH = `/dashboard/assets/app.css?v=${version(CSS)}`;
export const JS_PATH = `/dashboard/assets/app.js?v=${version(JS)}`;
