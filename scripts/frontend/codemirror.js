// The parts of CodeMirror 6 the course editor uses (static/js/editor.js), bundled by
// scripts/vendor-frontend.sh into one ES module: static/vendor/codemirror/codemirror.min.js.
export { EditorState } from "@codemirror/state";
export {
  EditorView,
  drawSelection,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
} from "@codemirror/view";
export { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
export { markdownKeymap, markdownLanguage } from "@codemirror/lang-markdown";
export { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
export { yamlFrontmatter } from "@codemirror/lang-yaml";
export { lintGutter, lintKeymap, setDiagnostics } from "@codemirror/lint";
export { highlightSelectionMatches, search, searchKeymap } from "@codemirror/search";
export { tags } from "@lezer/highlight";
