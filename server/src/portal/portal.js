// dinhdanh portal: the few lines of JavaScript the WebAuthn calls need. No build step.
"use strict";

const b64u = {
  decode(s) {
    const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    return Uint8Array.from(b, (c) => c.charCodeAt(0)).buffer;
  },
  encode(buf) {
    let s = "";
    for (const byte of new Uint8Array(buf)) s += String.fromCharCode(byte);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
};

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new Error((data && (data.detail || data.title)) || response.statusText);
  }
  return data;
}

function show(id, message, isError) {
  const el = document.getElementById(id);
  if (!el) return;
  el.textContent = message;
  el.className = isError ? "message error" : "message";
}

// `started`: a registration already started (the enrolment confirmation starts one), or none.
async function registerPasskey(name, started) {
  started = started || (await api("POST", "/v1/passkeys/registrations"));
  const pk = started.options.publicKey;
  pk.challenge = b64u.decode(pk.challenge);
  pk.user.id = b64u.decode(pk.user.id);
  for (const c of pk.excludeCredentials || []) c.id = b64u.decode(c.id);
  const credential = await navigator.credentials.create({ publicKey: pk });
  const r = credential.response;
  return api("POST", "/v1/passkeys/registrations/" + encodeURIComponent(started.ceremony_id), {
    name,
    credential: {
      id: credential.id,
      rawId: b64u.encode(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: b64u.encode(r.attestationObject),
        clientDataJSON: b64u.encode(r.clientDataJSON),
      },
      extensions: credential.getClientExtensionResults(),
    },
  });
}

async function signIn() {
  const started = await api("POST", "/v1/sessions/passkey");
  const pk = started.options.publicKey;
  pk.challenge = b64u.decode(pk.challenge);
  for (const c of pk.allowCredentials || []) c.id = b64u.decode(c.id);
  const credential = await navigator.credentials.get({ publicKey: pk });
  const r = credential.response;
  return api("POST", "/v1/sessions/passkey/" + encodeURIComponent(started.ceremony_id), {
    credential: {
      id: credential.id,
      rawId: b64u.encode(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: b64u.encode(r.authenticatorData),
        clientDataJSON: b64u.encode(r.clientDataJSON),
        signature: b64u.encode(r.signature),
        userHandle: r.userHandle ? b64u.encode(r.userHandle) : null,
      },
      extensions: credential.getClientExtensionResults(),
    },
  });
}

function on(id, event, handler) {
  const el = document.getElementById(id);
  if (el) el.addEventListener(event, handler);
}

let enrolmentId = null;

on("enrol-form", "submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  try {
    const started = await api("POST", "/v1/enrolments", {
      id_number: f.get("id_number"),
      full_name: f.get("full_name"),
      date_of_birth: f.get("date_of_birth"),
      phone: f.get("phone"),
    });
    enrolmentId = started.enrolment_id;
    document.getElementById("code-form").hidden = false;
    show("enrol-message", "Nếu thông tin khớp, mã xác thực đã được gửi đến điện thoại. / If the details match, a code was sent.");
  } catch (err) {
    show("enrol-message", err.message, true);
  }
});

on("code-form", "submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  try {
    const confirmed = await api("POST", "/v1/enrolments/" + encodeURIComponent(enrolmentId) + "/confirm", {
      code: f.get("code"),
    });
    show("enrol-message", "Tạo khóa truy cập (passkey)... / Creating your passkey...");
    await registerPasskey("Passkey", confirmed.passkey_registration);
    window.location.assign("/account");
  } catch (err) {
    show("enrol-message", err.message, true);
  }
});

on("sign-in", "click", async () => {
  try {
    await signIn();
    window.location.assign("/account");
  } catch (err) {
    show("sign-in-message", err.message, true);
  }
});

on("add-passkey", "click", async () => {
  try {
    await registerPasskey(document.getElementById("passkey-name").value || "Passkey");
    window.location.reload();
  } catch (err) {
    show("account-message", err.message, true);
  }
});

on("sign-out", "click", async () => {
  try {
    await api("DELETE", "/v1/sessions/current");
  } finally {
    window.location.assign("/");
  }
});

for (const button of document.querySelectorAll("button[data-revoke]")) {
  button.addEventListener("click", async () => {
    try {
      await api("DELETE", button.dataset.revoke);
      window.location.reload();
    } catch (err) {
      show("account-message", err.message, true);
    }
  });
}

if (document.getElementById("staff-enrol")) {
  (async () => {
    const token = window.location.hash.slice(1);
    history.replaceState(null, "", window.location.pathname);
    try {
      const redeemed = await api("POST", "/v1/staff/invitations/redeem", { token });
      show("staff-message", "Tạo khóa truy cập (passkey)... / Creating your passkey...");
      await registerPasskey("Staff passkey", redeemed.passkey_registration);
      window.location.assign("/account");
    } catch (err) {
      show("staff-message", err.message, true);
    }
  })();
}

// Officer console: approve (the PID offer is shown for the citizen to scan) or reject.
for (const button of document.querySelectorAll("button[data-approve]")) {
  button.addEventListener("click", async () => {
    const article = button.closest("article");
    const result = article.querySelector("[data-result]");
    try {
      const decision = await api("POST", button.dataset.approve);
      result.textContent = "Đã phê duyệt. Mã giao dịch / transaction code: " + decision.offer.tx_code;
      const link = document.createElement("code");
      link.className = "offer";
      link.textContent = decision.offer.offer_uri;
      result.append(document.createElement("br"), link);
      for (const b of article.querySelectorAll("button")) b.disabled = true;
    } catch (err) {
      result.textContent = err.message;
      result.className = "message error";
    }
  });
}

for (const button of document.querySelectorAll("button[data-reject]")) {
  button.addEventListener("click", async () => {
    const article = button.closest("article");
    const result = article.querySelector("[data-result]");
    const reason = article.querySelector("[data-reason]").value;
    try {
      await api("POST", button.dataset.reject, { reason });
      result.textContent = "Đã từ chối. / Rejected.";
      for (const b of article.querySelectorAll("button")) b.disabled = true;
    } catch (err) {
      result.textContent = err.message;
      result.className = "message error";
    }
  });
}

// Authorization code flow: the citizen's passkey sign-in is the authorization step.
on("approve-authorization", "click", async () => {
  const handle = document.getElementById("authorize").dataset.handle;
  try {
    await signIn();
    const approved = await api("POST", "/v1/authorizations/" + encodeURIComponent(handle) + "/approve");
    show("authorize-message", "Đã đồng ý. / Approved.");
    window.location.assign(approved.redirect_to);
  } catch (err) {
    show("authorize-message", err.message, true);
  }
});
