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

// Recovery: a code to a registered phone; an account never set up finishes its setup, any other
// gets a recovery session whose new passkey replaces the old ones.
let recoveryId = null;

on("recover-form", "submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  try {
    const started = await api("POST", "/v1/recoveries", {
      id_number: f.get("id_number"),
      full_name: f.get("full_name"),
      date_of_birth: f.get("date_of_birth"),
      phone: f.get("phone"),
    });
    recoveryId = started.recovery_id;
    document.getElementById("recover-code-form").hidden = false;
    show("recover-message", "Nếu thông tin khớp, mã đã được gửi đến số điện thoại đã đăng ký. / If the details match, a code was sent to the registered phone.");
  } catch (err) {
    show("recover-message", err.message, true);
  }
});

on("recover-code-form", "submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  try {
    const confirmed = await api("POST", "/v1/recoveries/" + encodeURIComponent(recoveryId) + "/confirm", {
      code: f.get("code"),
    });
    if (confirmed.role === "setup") {
      show("recover-message", "Tạo khóa truy cập (passkey)... / Creating your passkey...");
      await registerPasskey("Passkey", confirmed.passkey_registration);
      window.location.assign("/account");
      return;
    }
    document.getElementById("recovery").hidden = false;
    document.getElementById("recovery-id").textContent = confirmed.recovery.recovery_id;
    document.getElementById("recovery-level").textContent = confirmed.recovery.assurance_level > confirmed.recovery.assurance_level_after
      ? "Tài khoản mức 2: để giữ mức 2, hãy đến quầy với CCCD và đọc mã trên cho cán bộ trước khi tạo passkey; nếu không, tài khoản về mức 1. / A level-2 account: to keep level 2, show this code and your ID card to an officer before creating the passkey; otherwise the account drops to level 1."
      : "Các passkey, thiết bị và giấy tờ cũ sẽ bị thu hồi. / Your old passkeys, devices and credentials will be revoked.";
  } catch (err) {
    show("recover-message", err.message, true);
  }
});

on("recover-passkey", "click", async () => {
  try {
    // The registration the confirmation started may have expired while the citizen went to a
    // counter: start it again (the recovery session is re-bound to the new one).
    await registerPasskey("Passkey");
    window.location.assign("/account");
  } catch (err) {
    show("recover-message", err.message, true);
  }
});

// Officer console: an account recovery at the counter.
let counterRecovery = null;

on("recovery-lookup", "submit", async (e) => {
  e.preventDefault();
  const id = new FormData(e.target).get("recovery_id").trim();
  try {
    const recovery = await api("GET", "/v1/recoveries/" + encodeURIComponent(id));
    counterRecovery = recovery.recovery_id;
    const dl = document.getElementById("recovery-citizen");
    for (const dd of dl.querySelectorAll("dd")) dd.textContent = recovery.citizen[dd.dataset.field];
    dl.hidden = false;
    document.getElementById("recovery-approve").hidden = false;
    show("recovery-message", "");
  } catch (err) {
    show("recovery-message", err.message, true);
  }
});

on("recovery-approve", "click", async () => {
  try {
    await api("POST", "/v1/recoveries/" + encodeURIComponent(counterRecovery) + "/approve");
    show("recovery-message", "Đã phê duyệt. / Approved.");
    document.getElementById("recovery-approve").disabled = true;
  } catch (err) {
    show("recovery-message", err.message, true);
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

for (const button of document.querySelectorAll("button[data-revoke-post]")) {
  button.addEventListener("click", async () => {
    try {
      await api("POST", button.dataset.revokePost, { reason: "key_compromise" });
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
