// The edit page, enhanced. Without this file the page is a plain form whose textarea posts
// the text. With it, a CodeMirror editor takes the textarea's place (line numbers, wrapping,
// Markdown highlighting, each problem's line marked in the margin) and keeps the textarea's
// value in step, so the form posts what was typed exactly as before; the preview follows the
// text when the trainer pauses; a problem's line link moves the editor to that line.
//
// CodeMirror adds <style> elements: they carry the page's style nonce, which the page's
// Content-Security-Policy names (see edge.style_nonce).
const form = document.querySelector(".app-editor-form");
const textarea = document.getElementById("text");
const panel = document.getElementById("preview");

// GOV.UK colours, each at least 4.5:1 against the white page.
const INK = "#0b0c0c";
const SECONDARY = "#505a5f";
const LINK = "#1d70b8";
const GREY_LIGHT = "#f3f2f1";
const FOCUS = "#ffdd00";
const ERROR = "#d4351c";
const GREEN = "#00703c";

function editorLook(cm) {
  const highlighting = cm.HighlightStyle.define([
    { tag: cm.tags.heading, fontWeight: "bold", color: INK },
    { tag: cm.tags.strong, fontWeight: "bold" },
    { tag: cm.tags.emphasis, fontStyle: "italic" },
    { tag: [cm.tags.link, cm.tags.url], color: LINK, textDecoration: "underline" },
    { tag: [cm.tags.monospace, cm.tags.quote], color: SECONDARY },
    { tag: [cm.tags.processingInstruction, cm.tags.meta, cm.tags.contentSeparator,
            cm.tags.labelName, cm.tags.list], color: SECONDARY },
    // The front matter, as YAML: its keys, and comments after a #.
    { tag: cm.tags.definition(cm.tags.propertyName), color: GREEN },
    { tag: cm.tags.comment, color: SECONDARY, fontStyle: "italic" },
  ]);
  const theme = cm.EditorView.theme({
    "&": { color: INK, backgroundColor: "#ffffff", border: `2px solid ${INK}`,
           fontSize: "16px", height: "75vh", minHeight: "24em" },
    "&.cm-focused": { outline: `3px solid ${FOCUS}`, outlineOffset: "0",
                      boxShadow: `inset 0 0 0 2px ${INK}` },
    ".cm-scroller": { fontFamily: 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace',
                      lineHeight: "1.4", overflow: "auto" },
    ".cm-content": { padding: "5px 0", caretColor: INK },
    ".cm-gutters": { backgroundColor: GREY_LIGHT, color: SECONDARY, borderRight: "1px solid #b1b4b6" },
    ".cm-activeLine": { backgroundColor: "#f8f8f8" },
    ".cm-activeLineGutter": { backgroundColor: "#dddddd", color: INK },
    ".cm-lineNumbers .cm-gutterElement": { padding: "0 5px 0 8px" },
    ".cm-panels": { backgroundColor: GREY_LIGHT, color: INK },
    ".cm-tooltip": { border: `1px solid ${INK}`, backgroundColor: "#ffffff", color: INK },
    ".cm-diagnostic-error": { borderLeft: `5px solid ${ERROR}` },
  });
  return [cm.syntaxHighlighting(highlighting), theme];
}

// The problems the server found, as the preview panel lists them, marked in the margin.
function problemsOf(cm, state) {
  const diagnostics = [];
  for (const link of panel.querySelectorAll(".app-line-link")) {
    const number = Math.min(Math.max(Number(link.dataset.line) || 1, 1), state.doc.lines);
    const line = state.doc.line(number);
    diagnostics.push({ from: line.from, to: line.to, severity: "error",
                       message: `Line ${link.dataset.line}: ${link.dataset.message}` });
  }
  return cm.setDiagnostics(state, diagnostics);
}

function goToLine(cm, view, number) {
  const line = view.state.doc.line(Math.min(Math.max(number, 1), view.state.doc.lines));
  view.dispatch({ selection: { anchor: line.from },
                  effects: cm.EditorView.scrollIntoView(line.from, { y: "center" }) });
  view.focus();
}

function plainGoToLine(number) {
  const lines = textarea.value.split("\n");
  const start = lines.slice(0, number - 1).reduce((sum, each) => sum + each.length + 1, 0);
  textarea.focus();
  textarea.setSelectionRange(start, start + (lines[number - 1] || "").length);
}

async function enhance() {
  let cm;
  try {
    cm = await import(form.dataset.codemirror);
  } catch (error) {
    return null; // the plain box still works
  }
  const label = document.querySelector("label[for=text]");
  if (label && !label.id) label.id = "text-label";
  const described = textarea.getAttribute("aria-describedby");
  const keys = form.querySelector(".app-editor-keys");
  // tabindex: the box is focusable anyway (contenteditable); saying so lets checkers see the
  // scrolling area holds something the keyboard reaches.
  const content = { spellcheck: "true", autocapitalize: "off", tabindex: "0" };
  if (label) content["aria-labelledby"] = label.id; else content["aria-label"] = "Markdown";
  if (described) content["aria-describedby"] = described;
  if (textarea.getAttribute("aria-invalid")) content["aria-invalid"] = "true";
  const view = new cm.EditorView({
    doc: textarea.value,
    extensions: [
      cm.EditorView.cspNonce.of(form.dataset.styleNonce || ""),
      cm.lineNumbers(),
      cm.highlightActiveLineGutter(),
      cm.lintGutter(),
      cm.history(),
      cm.drawSelection(),
      cm.highlightActiveLine(),
      cm.highlightSelectionMatches(),
      cm.search({ top: true }),
      cm.EditorView.lineWrapping,
      cm.yamlFrontmatter({ content: cm.markdownLanguage }), // front matter, then Markdown
      editorLook(cm),
      cm.EditorView.contentAttributes.of(content),
      cm.keymap.of([...cm.markdownKeymap, ...cm.defaultKeymap, ...cm.historyKeymap,
                    ...cm.searchKeymap, ...cm.lintKeymap, cm.indentWithTab]),
      cm.EditorView.updateListener.of((update) => {
        if (update.docChanged) {
          textarea.value = update.state.doc.toString();
          textarea.dispatchEvent(new Event("input"));
        }
      }),
    ],
  });
  view.dom.classList.add("app-code-editor");
  textarea.after(view.dom);
  textarea.hidden = true;
  if (keys) keys.hidden = false;
  if (label) label.addEventListener("click", () => view.focus());
  // What is posted is the textarea: make sure it holds the last keystroke.
  form.addEventListener("submit", () => { textarea.value = view.state.doc.toString(); });
  return {
    goToLine: (number) => goToLine(cm, view, number),
    markProblems: () => view.dispatch(problemsOf(cm, view.state)),
  };
}

if (form && textarea && panel) {
  const token = form.querySelector("input[name=csrf_token]").value;
  let editor = null;
  let timer = null;
  let sent = 0;

  const bindLineLinks = () => {
    for (const link of panel.querySelectorAll(".app-line-link")) {
      link.addEventListener("click", (event) => {
        event.preventDefault();
        const number = Number(link.dataset.line);
        if (editor) editor.goToLine(number); else plainGoToLine(number);
      });
    }
    if (editor) editor.markProblems();
  };

  async function refresh() {
    const mine = ++sent;
    panel.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: "POST",
        headers: { "X-CSRFToken": token },
        body: new URLSearchParams({ text: textarea.value }),
        credentials: "same-origin",
      });
      if (response.ok && mine === sent) {
        panel.innerHTML = await response.text();
        bindLineLinks();
      }
    } finally {
      if (mine === sent) panel.setAttribute("aria-busy", "false");
    }
  }

  textarea.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 800);
  });
  bindLineLinks();
  editor = await enhance();
  if (editor) editor.markProblems();
  if (form.dataset.line) { // a problem's link from the draft or another page
    const number = Number(form.dataset.line);
    if (editor) editor.goToLine(number); else plainGoToLine(number);
  }
}
