// Copy buttons: every `button.copy[data-copy]`, and one added to each code block of the Markdown pages.
// No network, no dependencies; works from file:// (falls back to a selection when the clipboard API is absent).
"use strict";
function niCopy(text, button) {
  const done = () => {
    button.textContent = "copied";
    button.classList.add("copied");
    setTimeout(() => { button.textContent = "copy"; button.classList.remove("copied"); }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => niFallback(text, done));
  } else {
    niFallback(text, done);
  }
}
function niFallback(text, done) {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  try { document.execCommand("copy"); done(); } finally { area.remove(); }
}
document.addEventListener("DOMContentLoaded", () => {
  for (const pre of document.querySelectorAll("main pre:not(.cmd)")) {
    const code = pre.querySelector("code");
    if (!code) continue;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "copy";
    button.dataset.copy = code.textContent.replace(/\n$/, "");
    pre.appendChild(button);
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.copy[data-copy]");
    if (button) niCopy(button.dataset.copy, button);
  });
});
