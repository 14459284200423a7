// MyPay Sandbox dashboard: live regions, the scenario picker, the scenario editor's rows, no double submits.
"use strict";

// An element with data-live="<url>" is refreshed from that URL about once a second
// (not while the tab is hidden, nor while the user is typing inside it).
function live(el) {
  const every = Number(el.dataset.every || 1000);
  let last = null;
  // Each render gives every form a fresh one-time idempotency key (`_idem`): a region whose
  // only change is its keys is the same region, and replacing it would detach the button
  // under the user's pointer every second and hand the form another key.
  const withoutKeys = (html) => html.replace(/name="_idem" value="[^"]*"/g, 'name="_idem"');
  async function tick() {
    if (!document.hidden && !el.contains(document.activeElement)) {
      try {
        const r = await fetch(el.dataset.live, { headers: { "X-Dashboard-Live": "1" }, cache: "no-store" });
        const signIn = r.status === 401 && r.headers.get("X-Dashboard-Sign-In");
        if (signIn) {
          window.location.href = signIn;  // the session ended; the sign-in page says why
          return;
        }
        if (r.ok) {
          const html = await r.text();
          const seen = withoutKeys(html);
          if (seen !== last) el.innerHTML = html;  // the first answer replaces the server's render
          last = seen;
        }
      } catch (e) { /* the server is restarting: try again on the next tick */ }
    }
    setTimeout(tick, every);
  }
  setTimeout(tick, every);
}
document.querySelectorAll("[data-live]").forEach(live);

// New payout: picking a scenario (or another bank or wallet) fills a matching account number.
const payoutForm = document.querySelector("form[data-payout-form]");
if (payoutForm) {
  const scenario = payoutForm.elements.scenario;
  const destination = payoutForm.elements.destination;
  const description = payoutForm.querySelector("[data-scenario-description]");
  const fill = () => {
    const option = scenario.selectedOptions[0];
    const mobile = destination.value.startsWith("wallet:") || destination.value.startsWith("raast:");
    payoutForm.elements.account_number.value = (mobile ? "0300123" : "1234567890") + option.dataset.suffix;
    if (description) description.textContent = option.dataset.description;
  };
  scenario.addEventListener("change", fill);
  destination.addEventListener("change", fill);
}

// Scenario editor: "Add a step" appends a blank copy of the list's last row, "×" removes a
// row (the last one left is emptied instead); rows are renumbered so that row n is sent
// as step n-1 (`steps-0-status`, …), as the server's messages count them.
function renumber(body) {
  body.querySelectorAll("tr").forEach((row, i) => {
    row.querySelector("[data-step-number]").textContent = String(i + 1);
    row.querySelectorAll("[name]").forEach((field) => { field.name = field.name.replace(/-\d+-/, `-${i}-`); });
  });
}
function emptied(row) {
  row.classList.remove("bad");
  row.querySelectorAll("input, select").forEach((field) => {
    if (field.type === "checkbox") field.checked = false;
    else if (field.tagName === "SELECT") field.selectedIndex = 0;
    else field.value = "";
  });
  return row;
}
document.querySelectorAll("[data-add-step]").forEach((button) => {
  const body = document.getElementById(button.dataset.addStep);
  button.addEventListener("click", () => {
    body.appendChild(emptied(body.lastElementChild.cloneNode(true)));
    renumber(body);
  });
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-remove-step]");
  if (!button) return;
  const row = button.closest("tr"), body = row.parentElement;
  if (body.children.length > 1) row.remove(); else emptied(row);
  renumber(body);
});

// One click, one request: disable a form's buttons once it is on its way.
document.addEventListener("submit", (event) => {
  const buttons = event.target.querySelectorAll("button");
  setTimeout(() => buttons.forEach((b) => { b.disabled = true; }), 0);
});
