// The edit page: refresh the preview when the trainer pauses typing, and take a problem's
// line link to that line of the text. The page works without this file.
const form = document.querySelector(".app-editor-form");
const text = document.getElementById("text");
const panel = document.getElementById("preview");

function goToLine(line) {
  const lines = text.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((sum, each) => sum + each.length + 1, 0);
  const end = start + (lines[line - 1] || "").length;
  text.focus();
  text.setSelectionRange(start, end);
  const height = text.scrollHeight / Math.max(lines.length, 1);
  text.scrollTop = Math.max(0, (line - 3) * height);
}

function bindLineLinks() {
  for (const link of panel.querySelectorAll(".app-line-link")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      goToLine(Number(link.dataset.line));
    });
  }
}

if (form && text && panel) {
  const token = form.querySelector("input[name=csrf_token]").value;
  let timer = null;
  let sent = 0;
  async function refresh() {
    const mine = ++sent;
    panel.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: "POST",
        headers: { "X-CSRFToken": token },
        body: new URLSearchParams({ text: text.value }),
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
  text.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 800);
  });
  bindLineLinks();
  if (form.dataset.line) goToLine(Number(form.dataset.line)); // a problem's link from the draft
}
