// The officer console in a real browser: an officer activates their account from the one-time
// link (passkey registration), opens the console, sees the pending level-2 request with its
// portrait and checks, and approves it; the page shows the PID offer for the counter.
//
// Usage: node officer.mjs <public URL> <enrolment link> <request id>
import { check, launch } from "./launch.mjs";

const [url, link, requestId] = process.argv.slice(2);
if (!requestId) {
  console.error("usage: node officer.mjs <url> <enrolment link> <request id>");
  process.exit(2);
}

const { browser, page } = await launch();
try {
  // The invitation page redeems the link and registers the officer's passkey.
  await Promise.all([page.waitForURL(url + "/account", { timeout: 20000 }), page.goto(link)]);
  check((await page.textContent("#role")).trim() === "officer", "signed in as an officer");
  await Promise.all([page.waitForURL(url + "/officer"), page.click("#officer-link")]);

  const request = page.locator(`article[data-request="${requestId}"]`);
  check((await request.count()) === 1, "the pending request is listed");
  const portrait = request.locator("img.portrait");
  check((await portrait.count()) === 1, "its portrait is shown");
  check(
    await portrait.evaluate((img) => img.complete),
    "the portrait was fetched"
  );
  const checks = await request.textContent("dl");
  check(checks.includes("ICAO 9303") && !checks.includes("✗"), "chip and registry checks pass");

  await request.locator("button[data-approve]").click();
  const result = request.locator("[data-result]");
  await result.locator("code.offer").waitFor({ timeout: 10000 });
  const text = await result.textContent();
  const txCode = text.match(/(\d{6})/)[1];
  const offer = (await result.locator("code.offer").textContent()).trim();
  check(offer.startsWith("openid-credential-offer://"), "the offer is shown");
  check(await request.locator("button[data-approve]").isDisabled(), "the request is decided");
  console.log(JSON.stringify({ ok: true, offer_uri: offer, tx_code: txCode }));
} finally {
  await browser.close();
}
