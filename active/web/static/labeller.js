// Keys and in-place answers for the labelling page. Without this script the page works through
// its plain form; with it, m/n/u/s/b/q answer and the next pair replaces the old one in place.
"use strict";
(() => {
  const KEYS = { m: "match", n: "non-match", u: "unsure", s: "skip", b: "undo", q: "quit" };
  let busy = false;
  let polling = false;

  const desk = () => document.getElementById("desk");

  function swap(html) {
    const next = new DOMParser().parseFromString(html, "text/html").getElementById("desk");
    if (!next) throw new Error("the server sent no page");
    desk().replaceWith(next);
    const key = next.dataset.key;
    document.title = "riskweasul · " + (key ? "pair " + key : next.dataset.state);
    if (next.dataset.state === "waiting") poll();
  }

  function unreachable() {
    let note = desk().querySelector(".notice");
    if (!note) {
      note = document.createElement("p");
      note.className = "notice";
      note.setAttribute("role", "alert");
      desk().prepend(note);
    }
    note.textContent = "The labelling server cannot be reached; retrying. Answers already " +
      "given are stored; the last one is taken only when this page shows the next pair.";
  }

  async function poll() {
    if (polling) return;
    polling = true;
    try {
      for (;;) {
        const d = desk();
        try {
          const response = await fetch("/question?after=" + encodeURIComponent(d.dataset.token || ""),
                                       { cache: "no-store" });
          swap(await response.text());
          if (desk().dataset.state !== "waiting") return;
        } catch (err) {
          unreachable();
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    } finally {
      polling = false;
    }
  }

  async function send(answer) {
    const d = desk();
    if (busy || d.dataset.state !== "question") return;
    const button = d.querySelector('button[value="' + answer + '"]');
    if (!button || button.disabled) return;
    busy = true;
    button.classList.add("pressed");
    try {
      const response = await fetch("/answer", {
        method: "POST",
        headers: { "X-Labeller": "fetch" },
        body: new URLSearchParams({ token: d.dataset.token, answer: answer }),
      });
      swap(await response.text());
    } catch (err) {
      button.classList.remove("pressed");
      unreachable();
      poll();
    } finally {
      busy = false;
    }
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const answer = KEYS[event.key.toLowerCase()];
    if (!answer) return;
    event.preventDefault();
    send(answer);
  });

  document.addEventListener("submit", (event) => {
    const button = event.submitter;
    if (!button || button.name !== "answer") return;
    event.preventDefault();
    send(button.value);
  });

  if (desk() && desk().dataset.state === "waiting") poll();
})();
