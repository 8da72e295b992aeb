// Progressive enhancement only: every page works without this file.
import { initAll } from "/static/vendor/govuk-frontend/govuk-frontend.min.js";

// GOV.UK Frontend styles its interactive components only when this class is present.
// It is set here, not inline, because the Content-Security-Policy allows no inline script.
document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
