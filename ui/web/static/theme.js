// Applies the stored theme before first paint (loaded synchronously in <head>; no inline script under the CSP).
(function () {
  try {
    var t = localStorage.getItem("lh-theme");
    if (t === "dark" || t === "light") document.documentElement.dataset.theme = t;
  } catch (e) { /* storage disabled: follow prefers-color-scheme */ }
})();
