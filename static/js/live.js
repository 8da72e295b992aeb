// Progressive enhancement of a live exercise's page: new entries arrive as they are sent,
// through server-sent events, and the exercise clock ticks. Without this file the page
// shows what had arrived when it was loaded, with a Refresh button.
const status = document.getElementById("live-status");
const list = document.getElementById("live-feed");

function ticking(element, seconds, running) {
  let shown = seconds;
  const draw = () => {
    const minutes = String(Math.floor(shown / 60)).padStart(2, "0");
    element.textContent = `${minutes}:${String(shown % 60).padStart(2, "0")}`;
  };
  if (running) {
    setInterval(() => { shown += 1; draw(); }, 1000);
  }
  return (value) => { shown = value; draw(); };
}

function typing() {
  // Someone writing in a form would lose it if the page reloaded.
  return [...document.querySelectorAll("main textarea, main input[type=text]")]
    .some((field) => field.value.trim() !== "");
}

function notice(text) {
  const box = document.getElementById("live-notice");
  box.textContent = text;
  box.hidden = false;
}

if (status && list && "EventSource" in window) {
  const clock = document.getElementById("live-clock");
  const setClock = ticking(clock, Number(status.dataset.clock), status.dataset.state === "running");
  const shownState = status.dataset.state;
  const seen = new Set([...list.querySelectorAll("[data-seq]")].map((li) => li.dataset.seq));
  const source = new EventSource(status.dataset.streamUrl);
  for (const hint of document.querySelectorAll(".app-live-js-only")) hint.hidden = false;
  // A form on its way must not be overtaken by a reload of the page it leaves.
  document.addEventListener("submit", () => source.close());
  source.addEventListener("entry", (message) => {
    const data = JSON.parse(message.data);
    if (seen.has(String(data.seq))) {
      return; // already on the page: nothing twice
    }
    seen.add(String(data.seq));
    const holder = document.createElement("template");
    holder.innerHTML = data.html.trim(); // rendered and escaped by the server
    const item = holder.content.firstElementChild;
    item.classList.add("app-live-item--new");
    list.prepend(item);
    document.getElementById("live-empty")?.remove();
    setClock(data.clock);
    // What changes the forms (the state, a decision asked or settled, something new to
    // share) reloads the page, unless someone is writing: then it says so instead.
    const reshapes = data.state !== shownState || data.decision || data.kind === "outcome"
      || data.kind === "release" || data.kind === "share";
    if (reshapes && !status.dataset.facilitating) {
      if (typing()) {
        notice("Something new has reached you: press Refresh once you have sent what you are writing.");
      } else {
        window.location.reload();
      }
    } else if (data.state !== shownState) {
      window.location.reload();
    }
  });
  window.addEventListener("pagehide", () => source.close());
}
