//! One self-contained HTML file (no network, no external assets; works opened from disk):
//! the verdict, the summary table and the ignored counts are plain HTML; the differences
//! travel as JSON inside the page and a small script draws a collapsible tree of them by
//! location, each entry's fields side by side and its content diff coloured, with a
//! filter box (path and field). Nodes are drawn only when opened and a filter shows at
//! most a page of matches at a time, so a report with 100 000 differences stays usable.

use std::io::{self, Write};

use super::{cut_note, escape_xml as esc};
use crate::entry::display_bytes;
use crate::report::Report;

const CSS: &str = r#"
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#1b1f24;background:#fff}
h1{font-size:1.3em;margin:0 0 .4em}
.verdict{font-weight:600;padding:.5em .8em;border-radius:6px;margin:.6em 0}
.equal{background:#e6f4ea;color:#1e6b34}.different{background:#fdecea;color:#9b1c1c}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d0d7de;padding:.2em .6em;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px}
#controls{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #d0d7de;z-index:1}
#controls input{width:28em;padding:.25em}#controls select{padding:.2em}
details.node{margin-left:1em}details.node>summary{cursor:pointer;padding:.1em 0}
.count{color:#57606a}.entry{margin:.3em 0 .6em 1.2em;border-left:3px solid #d0d7de;padding-left:.6em}
.added{border-color:#2da44e}.removed{border-color:#cf222e}.changed{border-color:#bf8700}
.mark{font-weight:700;margin-right:.3em}.kind{color:#57606a;margin-left:.5em}
table.fields td{max-width:48em;word-break:break-all}
pre.diff{background:#f6f8fa;padding:.5em;overflow:auto;max-height:40em}
.add{color:#116329;background:#dafbe1;display:block}.del{color:#82071e;background:#ffebe9;display:block}
.hunk{color:#0550ae;display:block}.more{margin:.5em 0}.hidden{display:none}.ignored{color:#57606a}
#hints{padding-left:1.4em}#hints li{margin:.4em 0}.hint-id{font-weight:600;margin-right:.4em}
.hint-folded>summary{cursor:pointer;color:#57606a}.hint-paths{color:#57606a}
"#;

const JS: &str = r#"
(function(){
const data=JSON.parse(document.getElementById('rdiff-data').textContent);
const diffs=data.differences;diffs.forEach((d,i)=>{d.shown=data.paths[i];d.folded=data.folded[i];d.group=data.groups[i];});
const el=(t,c,txt)=>{const e=document.createElement(t);if(c)e.className=c;if(txt!==undefined)e.textContent=txt;return e;};
const pstr=p=>typeof p==='string'?p:'(not UTF-8, base64) '+p.bytes;
const dpath=d=>d.shown!==undefined?d.shown:pstr(d.path);
const val=v=>v===null?'(none)':typeof v==='string'?v:(typeof v==='object'&&v.decoded!==undefined)?v.decoded:(typeof v==='object'&&v.bytes!==undefined)?'base64:'+v.bytes:JSON.stringify(v);
const mark={added:'+',removed:'-',changed:'~'};
function entry(d){
  const box=el('div','entry '+d.status);box.dataset.path=dpath(d);
  const h=el('div','head');h.appendChild(el('span','mark',mark[d.status]));h.appendChild(el('code','',dpath(d)));
  const k=d.left_type||d.right_type;if(k)h.appendChild(el('span','kind',k+(typeof d.target==='string'?(k==='hardlink'?' to ':' -> ')+d.target:d.size!==undefined&&d.status!=='changed'?', '+d.size+' bytes':'')));
  if(d.package!==undefined)h.appendChild(el('span','kind','package '+pstr(d.package)));
  box.appendChild(h);
  if(d.fields.length){const t=el('table','fields');const hr=el('tr');['field','left','right'].forEach(x=>hr.appendChild(el('th','',x)));t.appendChild(hr);
    d.fields.forEach(f=>{const r=el('tr');r.appendChild(el('td','mono',f.name+(f.ignored_by?' [--'+f.ignored_by+']':'')));r.appendChild(el('td','mono',val(f.left)));r.appendChild(el('td','mono',val(f.right)));t.appendChild(r);});box.appendChild(t);}
  if(d.diff){const pre=el('pre','diff');d.diff.split('\n').forEach(l=>{if(l==='')return;const c=l.startsWith('+++')||l.startsWith('---')?'':l[0]==='+'?'add':l[0]==='-'?'del':l.startsWith('@@')?'hunk':'';const s=el('span',c,l);if(!c){pre.appendChild(s);pre.appendChild(document.createTextNode('\n'));}else pre.appendChild(s);});
    if(d.content&&d.content.lines_shown<d.content.lines)pre.appendChild(el('span','hunk','[diff cut: '+d.content.lines_shown+' of '+d.content.lines+' lines shown]'));box.appendChild(pre);}
  else if(d.content&&d.content.kind==='binary'){box.appendChild(el('div','mono','binary content differs'+(d.content.first_difference!==null?'; first difference at byte '+d.content.first_difference:'')));}
  else if(d.content&&d.content.kind==='unavailable'){box.appendChild(el('div','mono','no content diff: '+d.content.reason));}
  return box;}
// The tree of locations; the inputs as wholes first, apart from any entry named alike,
// and the packages of a package database apart from a directory named packages. What
// differs inside a file (its `inside`) hangs below that file's own node, not below a
// directory named `FILE!` (a real one may exist).
const root={kids:new Map(),diffs:[],n:0};
const byPath=new Map(diffs.map(d=>[pstr(d.path),d]));
const segsOf=(d,depth)=>{const p=dpath(d);if(d.inside!==undefined&&depth<64){const o=pstr(d.inside),od=byPath.get(o);
  if(od&&p.startsWith(o+'!/'))return segsOf(od,depth+1).concat(p.slice(o.length+2).split('/'));}return p.split('/');};
diffs.forEach(d=>{if(d.folded!==null)return;let node=root;node.n++;if(d.part==='input'){node.diffs.push(d);return;}const segs=segsOf(d,0);
  if(/(^|\/)packages$/.test(d.part)&&segs.length>1)segs[segs.length-2]+=' (package database)';
  segs.forEach((s,i)=>{if(!node.kids.has(s))node.kids.set(s,{kids:new Map(),diffs:[],n:0});node=node.kids.get(s);node.n++;});node.diffs.push(d);});
function fill(node,box){
  node.diffs.forEach(d=>box.appendChild(entry(d)));
  [...node.kids.keys()].sort().forEach(name=>{const k=node.kids.get(name);
    if(k.kids.size===0&&k.diffs.length===1){box.appendChild(entry(k.diffs[0]));return;}
    const det=el('details','node');const sum=el('summary');sum.appendChild(el('code','',name+(k.kids.size?(k.diffs.some(x=>x.left_type==='file'||x.right_type==='file')?'!/':'/'):'')));sum.appendChild(el('span','count',' ('+k.n+')'));det.appendChild(sum);
    const inner=el('div');det.appendChild(inner);
    det.addEventListener('toggle',()=>{if(det.open&&!det.dataset.drawn){det.dataset.drawn=1;fill(k,inner);}});
    box.appendChild(det);});}
const tree=document.getElementById('tree');fill(root,tree);
// Likely causes: the entries folded under a hint (or one group of them), drawn when its
// list is opened.
document.querySelectorAll('details.hint-folded').forEach(det=>{const k=+det.dataset.hint,box=det.querySelector('div');
  const g=det.dataset.group===undefined?null:+det.dataset.group;
  det.addEventListener('toggle',()=>{if(!det.open||det.dataset.drawn)return;det.dataset.drawn=1;
    diffs.filter(d=>d.folded===k&&(g===null||d.group===g)).forEach(d=>box.appendChild(entry(d)));});});
const nfolded=diffs.filter(d=>d.folded!==null).length;
// Filter.
const q=document.getElementById('q'),fs=document.getElementById('field'),res=document.getElementById('results'),info=document.getElementById('info');
const fams=new Set();diffs.forEach(d=>d.fields.forEach(f=>fams.add(f.field)));[...fams].sort().forEach(f=>{const o=el('option','',f);o.value=f;fs.appendChild(o);});
const PAGE=500;let matches=[],shown=0;
function more(){const end=Math.min(matches.length,shown+PAGE);for(;shown<end;shown++)res.appendChild(entry(matches[shown]));
  const b=document.getElementById('more');b.classList.toggle('hidden',shown>=matches.length);b.textContent='show '+Math.min(PAGE,matches.length-shown)+' more of '+(matches.length-shown);}
function apply(){const s=q.value.toLowerCase(),f=fs.value;
  if(!s&&!f){res.replaceChildren();tree.classList.remove('hidden');info.textContent=diffs.length+' differences'+(nfolded?' ('+nfolded+' folded under likely causes)':'');document.getElementById('more').classList.add('hidden');return;}
  matches=diffs.filter(d=>(!s||dpath(d).toLowerCase().includes(s)||d.fields.some(x=>x.name.toLowerCase().includes(s)))&&(!f||d.fields.some(x=>x.field===f)));
  tree.classList.add('hidden');res.replaceChildren();shown=0;info.textContent=matches.length+' of '+diffs.length+' differences match';more();}
q.addEventListener('input',apply);fs.addEventListener('change',apply);document.getElementById('more').addEventListener('click',more);
// Open every node, drawing as it goes (toggle events fire later, so draw here).
function openAll(){for(let i=0;i<256;i++){const closed=tree.querySelectorAll('details.node:not([open])');if(!closed.length)break;closed.forEach(d=>{d.open=true;d.dispatchEvent(new Event('toggle'));});}
  document.querySelectorAll('details.hint-folded:not([open])').forEach(d=>{d.open=true;d.dispatchEvent(new Event('toggle'));});}
document.getElementById('expand').addEventListener('click',openAll);
// #q=...&field=...&open=all, for links and headless checks.
const h=new URLSearchParams(location.hash.slice(1));
if(h.get('q'))q.value=h.get('q');if(h.get('field'))fs.value=h.get('field');
if(h.get('open')==='all')openAll();
apply();document.body.dataset.ready='1';
})();
"#;

/// The document head, the title and the verdict.
fn write_head(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    let title = format!("rdiff {}: {} vs {}", r.command, r.left.name, r.right.name);
    writeln!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    )?;
    writeln!(
        w,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(
        w,
        "<title>{}</title><style>{CSS}</style></head><body>",
        esc(&title)
    )?;
    writeln!(w, "<h1>{}</h1>", esc(&title))?;
    let class = if r.equal { "equal" } else { "different" };
    writeln!(
        w,
        "<div id=\"verdict\" class=\"verdict {class}\">{}</div>",
        esc(&r.verdict())
    )
}

/// The inputs table (name, kind, compression, entries, SHA-256) with the mode, then
/// any warnings.
fn write_inputs(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    writeln!(w, "<table id=\"inputs\">")?;
    for (label, i) in [("left", &r.left), ("right", &r.right)] {
        writeln!(
            w,
            "<tr><th>{label}</th><td class=\"mono\">{}</td><td>{}{}</td><td class=\"n\">{}</td></tr>",
            esc(&i.name),
            esc(&i.kind),
            i.compression
                .as_deref()
                .filter(|c| *c != "none")
                .map(|c| format!(", {}", esc(c)))
                .unwrap_or_default(),
            i.entries_text()
        )?;
        if let Some(h) = &i.sha256 {
            writeln!(
                w,
                "<tr><th></th><td class=\"mono\" colspan=\"3\">sha256 {}</td></tr>",
                esc(h)
            )?;
        }
    }
    let rules = r.rule_flags();
    writeln!(
        w,
        "<tr><th>mode</th><td colspan=\"3\">{}{}</td></tr></table>",
        esc(&r.mode),
        if rules.is_empty() {
            String::new()
        } else {
            format!(" <span class=\"mono\">({})</span>", esc(&rules.join(" ")))
        }
    )?;
    for warn in &r.warnings {
        writeln!(w, "<p class=\"warning\">warning: {}</p>", esc(warn))?;
    }
    Ok(())
}

/// The counts table, then what the policy ignored.
fn write_summary(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    writeln!(
        w,
        "<table id=\"summary\"><tr><th></th><th>differences</th><th>ignored</th></tr>"
    )?;
    let s = &r.summary;
    for (label, n, ign) in s.entry_rows() {
        writeln!(
            w,
            "<tr><th>{label}</th><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            n, ign
        )?;
    }
    for (field, c) in &s.fields {
        writeln!(
            w,
            "<tr><td class=\"mono\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(field),
            c.differences,
            c.ignored
        )?;
    }
    writeln!(w, "</table>")?;
    if !r.ignored.is_empty() {
        writeln!(w, "<h2>Ignored</h2><ul id=\"ignored\">")?;
        for i in &r.ignored {
            writeln!(
                w,
                "<li class=\"ignored\"><code>--{}</code>{}: {}</li>",
                esc(&i.rule),
                i.origin_label(),
                esc(&i.what())
            )?;
        }
        writeln!(w, "</ul>")?;
    }
    Ok(())
}

/// The likely causes: each hint's id and text, the first entries it explains, and the
/// entries folded under it in a `<details>` the script fills when it is opened.
fn write_hints(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    if r.hints.is_empty() {
        return Ok(());
    }
    writeln!(w, "<h2>Likely causes</h2><ol id=\"hints\">")?;
    for (k, h) in r.hints.iter().enumerate() {
        let paths: Vec<String> = h
            .paths_shown()
            .map(|p| format!("<code>{}</code>", esc(&p)))
            .collect();
        write!(
            w,
            "<li class=\"hint\" data-id=\"{}\"><code class=\"hint-id\">{}</code>{}\
             <div class=\"hint-paths\">{}: {}{}</div>",
            esc(h.id),
            esc(h.id),
            esc(&h.text),
            esc(&h.entries_text()),
            paths.join(", "),
            esc(&h.more_paths())
        )?;
        if h.folded > 0 && h.groups.is_empty() {
            write!(
                w,
                "<details class=\"hint-folded\" data-hint=\"{k}\"><summary>{}</summary><div></div></details>",
                esc(&h.folded_sentence())
            )?;
        } else if h.folded > 0 {
            // Grouped (by package): a list per group.
            write!(
                w,
                "<div class=\"hint-paths\">{}</div>",
                esc(&h.folded_sentence())
            )?;
            for (g, group) in h.groups.iter().enumerate().filter(|(_, g)| g.folded > 0) {
                write!(
                    w,
                    "<details class=\"hint-folded\" data-hint=\"{k}\" data-group=\"{g}\"><summary>{}</summary><div></div></details>",
                    esc(&group.line())
                )?;
            }
        }
        writeln!(w, "</li>")?;
    }
    writeln!(w, "</ol>")
}

/// What a limit cut, and the places the script draws the differences in: the filter
/// controls, the tree, the filter's results.
fn write_differences(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    if let Some(c) = &r.cut {
        writeln!(
            w,
            "<p id=\"cut\"><strong>{}</strong></p>",
            esc(&cut_note(c))
        )?;
    }
    writeln!(w, "<h2>Differences</h2>")?;
    writeln!(
        w,
        "<div id=\"controls\"><input id=\"q\" type=\"search\" placeholder=\"filter by path or field name\" aria-label=\"filter\"> \
         <select id=\"field\" aria-label=\"field\"><option value=\"\">any field</option></select> \
         <button id=\"expand\" type=\"button\">expand all</button> <span id=\"info\"></span></div>"
    )?;
    writeln!(
        w,
        "<noscript><p>The {} differences are drawn by a script; the summary above is complete.</p></noscript>",
        (r.differences.len() as u64)
    )?;
    writeln!(
        w,
        "<div id=\"tree\"></div><div id=\"results\"></div><button id=\"more\" class=\"more hidden\" type=\"button\"></button>"
    )
}

fn write_notes(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    if r.notes.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "<details id=\"notes\"><summary>Notes ({})</summary><ul>",
        r.notes.len()
    )?;
    for n in &r.notes {
        writeln!(
            w,
            "<li><code>{}</code>: {}</li>",
            esc(&display_bytes(&n.path)),
            esc(&n.message)
        )?;
    }
    writeln!(w, "</ul></details>")
}

/// The differences as JSON for the script, and the script.
fn write_data(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    // Paths as shown everywhere else (`\xNN` for bytes that are not UTF-8), next to the
    // differences themselves.
    let paths: Vec<String> = r
        .differences
        .iter()
        .map(|d| display_bytes(&d.path))
        .collect();
    // The hint each difference is folded under, if any, and its group there.
    let folded: Vec<Option<usize>> = r.differences.iter().map(|d| d.folded).collect();
    let groups: Vec<Option<usize>> = r.differences.iter().map(|d| r.fold_group(d)).collect();
    let data = serde_json::json!({
        "differences": r.differences,
        "paths": paths,
        "folded": folded,
        "groups": groups,
    });
    // Inside <script>, `<` must not start `</script>` or `<!--`: escape it in JSON.
    let json = serde_json::to_string(&data)
        .map_err(io::Error::other)?
        .replace('<', "\\u003c");
    writeln!(
        w,
        "<script id=\"rdiff-data\" type=\"application/json\">{json}</script>"
    )?;
    writeln!(w, "<script>{JS}</script>")
}

pub fn render(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    write_head(w, r)?;
    write_inputs(w, r)?;
    write_summary(w, r)?;
    write_hints(w, r)?;
    write_differences(w, r)?;
    write_notes(w, r)?;
    write_data(w, r)?;
    writeln!(
        w,
        "<footer class=\"count\">rdiff {} · report schema {}</footer></body></html>",
        env!("CARGO_PKG_VERSION"),
        r.schema_version
    )
}
