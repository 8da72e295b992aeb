// Progressive enhancement only: every page works without this file.
import { initAll } from "../vendor/govuk-frontend/govuk-frontend.min.js?v=8982af0b181bb907";

// GOV.UK Frontend styles its interactive components only when this class is present.
// It is set here, not inline, because the Content-Security-Policy allows no inline script.
document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

// The exercise form's organisations, grouped by service in closed sections: a search box
// that shows the organisations whose names hold the text, opening their sections.
for (const picker of document.querySelectorAll("[data-organisation-picker]")) {
  const search = picker.querySelector(".app-organisation-search");
  const input = search.querySelector("input");
  search.hidden = false;
  input.addEventListener("input", () => {
    const text = input.value.trim().toLowerCase();
    for (const group of picker.querySelectorAll("[data-service-group]")) {
      let matches = 0;
      for (const item of group.querySelectorAll("[data-organisation-name]")) {
        const shown = !text || item.dataset.organisationName.includes(text);
        item.hidden = !shown;
        matches += shown ? 1 : 0;
      }
      group.hidden = matches === 0;
      if (text) group.open = matches > 0;
    }
  });
}
