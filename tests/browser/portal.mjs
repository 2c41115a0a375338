// The portal journey in a real browser: enrol -> register a passkey -> sign out -> sign in ->
// lose the passkey -> recover the account with a code to the registered phone.
// Headless Chromium (Debian's /usr/bin/chromium) with the DevTools virtual authenticator
// (ctap2, internal, resident keys, user verification).
//
// Usage: node portal.mjs <public URL> <sms.log path> <id_number> <full_name> <date_of_birth>
// (the demo citizen, whose registered phone is 0912345678)
import { readFileSync } from "node:fs";
import { check, launch } from "./launch.mjs";

const [url, smsLog, idNumber, fullName, dateOfBirth] = process.argv.slice(2);
if (!dateOfBirth) {
  console.error("usage: node portal.mjs <url> <sms.log> <id_number> <full_name> <date_of_birth>");
  process.exit(2);
}

async function lastCode(previousCount) {
  for (let i = 0; i < 200; i++) {
    let lines = [];
    try {
      lines = readFileSync(smsLog, "utf8").trim().split("\n").filter(Boolean);
    } catch {}
    if (lines.length > previousCount) {
      return JSON.parse(lines[lines.length - 1]).text.match(/là (\d{6})/)[1];
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("no code was sent");
}

const { browser, page, cdp, authenticatorId } = await launch();
try {
  // Enrol.
  await page.goto(url + "/");
  await page.fill("#enrol-form input[name=id_number]", idNumber);
  await page.fill("#enrol-form input[name=full_name]", fullName);
  await page.fill("#enrol-form input[name=date_of_birth]", dateOfBirth);
  await page.fill("#enrol-form input[name=phone]", "0912345678");
  let sent = 0;
  try {
    sent = readFileSync(smsLog, "utf8").trim().split("\n").filter(Boolean).length;
  } catch {}
  await page.click("#enrol-form button[type=submit]");
  await page.waitForSelector("#code-form:not([hidden])");
  const code = await lastCode(sent);

  // Confirm the code: the page registers a passkey and lands on the account page.
  await page.fill("#code-form input[name=code]", code);
  await Promise.all([page.waitForURL(url + "/account"), page.click("#code-form button[type=submit]")]);
  check((await page.textContent("#display-name")).trim() === fullName, "account page shows the name");
  check((await page.textContent("#level")).trim() === "1", "assurance level 1");
  check((await page.locator("#passkeys tr").count()) === 2, "one passkey listed");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  check(credentials.length === 1 && credentials[0].isResidentCredential, "a discoverable credential was created");

  // Sign out, then sign in with the passkey.
  await Promise.all([page.waitForURL(url + "/"), page.click("#sign-out")]);
  await Promise.all([page.waitForURL(url + "/account"), page.click("#sign-in")]);
  check((await page.textContent("#display-name")).trim() === fullName, "signed in again");
  const history = await page.textContent("#history");
  for (const action of ["account.created", "passkey.added", "session.signed_in"]) {
    check(history.includes(action), "history shows " + action);
  }
  const after = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  check(after.credentials[0].signCount >= 1, "the sign-in used the passkey");

  // The phone is lost: its passkey is gone. Recover with a code to the registered phone.
  await cdp.send("WebAuthn.clearCredentials", { authenticatorId });
  await Promise.all([page.waitForURL(url + "/"), page.click("#sign-out")]);
  await page.fill("#recover-form input[name=id_number]", idNumber);
  await page.fill("#recover-form input[name=full_name]", fullName);
  await page.fill("#recover-form input[name=date_of_birth]", dateOfBirth);
  await page.fill("#recover-form input[name=phone]", "+84 912 345 678");
  sent = readFileSync(smsLog, "utf8").trim().split("\n").filter(Boolean).length;
  await page.click("#recover-form button[type=submit]");
  await page.waitForSelector("#recover-code-form:not([hidden])");
  const recoveryCode = await lastCode(sent);
  await page.fill("#recover-code-form input[name=code]", recoveryCode);
  await page.click("#recover-code-form button[type=submit]");
  await page.waitForSelector("#recovery:not([hidden])");
  check((await page.textContent("#recovery-id")).trim().length > 0, "the recovery id is shown for a counter");
  await Promise.all([page.waitForURL(url + "/account"), page.click("#recover-passkey")]);
  check((await page.textContent("#display-name")).trim() === fullName, "recovered");
  check((await page.locator("#passkeys tr").count()) === 2, "one passkey: the new one");
  const recovered = await page.textContent("#history");
  for (const action of ["account.recovery_started", "account.recovered"]) {
    check(recovered.includes(action), "history shows " + action);
  }
  console.log(
    JSON.stringify({ ok: true, journey: ["enrol", "register passkey", "sign out", "sign in", "recover"] }),
  );
} finally {
  await browser.close();
}
