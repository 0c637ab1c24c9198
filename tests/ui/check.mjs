// The validator's web dashboard in a real browser (Debian's Chromium, driven by playwright-core
// over the DevTools protocol). For each page: it loads with status 200, no console error, no
// failed request; the figures it shows equal its JSON twin's (read before and after the page,
// so figures that grow, like the height, must lie between the two); a screenshot is saved. The
// journey of a submission made while the test runs is followed until it shows its final score
// and the weight the epoch's agreed vector gives the miner.
//
//   node tests/ui/check.mjs <base url> <submission id> <miner hotkey> <screenshot dir>
//
// Environment: CHROMIUM (default /usr/bin/chromium), UI_FINAL_TIMEOUT_S (default 180).
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const [base, submission, miner, shots] = process.argv.slice(2);
if (!base || !submission || !miner || !shots) {
  console.error("usage: node tests/ui/check.mjs <base url> <submission id> <miner hotkey> <screenshot dir>");
  process.exit(2);
}
fs.mkdirSync(shots, { recursive: true });
const failures = [];
const fail = (page, what) => failures.push(`${page}: ${what}`);
const pct = (ppb) => `${(ppb / 1e7).toFixed(2)} %`;
const dash = (v) => (v === null || v === undefined ? "–" : String(v));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });

async function twin(url) {
  const response = await fetch(base + url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

// Opens `url`, checks what every page must hold, and returns the page with helpers.
async function open(name, url, { viewport } = {}) {
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  page.on("console", (m) => { if (m.type() === "error") fail(name, `console error: ${m.text()}`); });
  page.on("pageerror", (e) => fail(name, `page error: ${e.message}`));
  page.on("requestfailed", (r) => fail(name, `request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => { if (r.status() >= 400) fail(name, `${r.status()} for ${r.url()}`); });
  const response = await page.goto(base + url, { waitUntil: "load" });
  if (!response || response.status() !== 200) fail(name, `status ${response?.status()}`);
  // Nothing may come from another origin: every asset is the validator's.
  const foreign = await page.evaluate((origin) =>
    performance.getEntriesByType("resource").map((e) => e.name).filter((u) => !u.startsWith(origin)), new URL(base).origin);
  if (foreign.length) fail(name, `assets from elsewhere: ${foreign.join(", ")}`);
  const field = async (f, scope = page) => (await scope.locator(`[data-field="${f}"]`).first().innerText()).trim();
  return { page, field };
}

async function shot(page, name) {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
}

function same(name, what, shown, expected) {
  if (shown !== String(expected)) fail(name, `${what}: the page shows ${JSON.stringify(shown)}, the API ${JSON.stringify(String(expected))}`);
}

// A value that may change while the page loads (a validator set committed at an epoch
// boundary): the page must show what the API said before it or after it.
function either(name, what, shown, before, after) {
  if (shown !== String(before) && shown !== String(after)) {
    fail(name, `${what}: the page shows ${JSON.stringify(shown)}, the API ${JSON.stringify(String(before))} before and ${JSON.stringify(String(after))} after`);
  }
}

function between(name, what, shown, before, after) {
  const n = Number(shown);
  if (!(n >= before && n <= after)) fail(name, `${what}: the page shows ${shown}, the API ${before} before and ${after} after`);
}

// Network.
{
  const before = await twin("/dashboard/network");
  const { page, field } = await open("network", "/ui");
  const after = await twin("/dashboard/network");
  same("network", "validator", await field("validator"), after.validator);
  // Both settle while the devnet starts (the weights path once the chain's context is read).
  either("network", "status", await field("status"), before.status, after.status);
  either("network", "weights path", await field("weights_path"), dash(before.weights_path), dash(after.weights_path));
  between("network", "height", await field("height"), before.height, after.height);
  between("network", "tip height", await field("tip_height"), before.tip_height, after.tip_height);
  between("network", "epoch", await field("epoch"), before.epoch, after.epoch);
  same("network", "participation window", await field("window"), after.window);
  const rows = page.locator("#validators tbody tr");
  same("network", "validators", String(await rows.count()), after.validators.length);
  for (const v of after.validators) {
    const row = page.locator(`#validators tr[data-hotkey="${v.hotkey}"]`);
    same("network", `uid of ${v.hotkey}`, await field("uid", row), v.uid);
    const b = before.validators.find((x) => x.hotkey === v.hotkey);
    either("network", `stake of ${v.hotkey}`, await field("stake", row), b?.stake, v.stake);
    either("network", `stake share of ${v.hotkey}`, await field("stake_share", row), pct(b?.stake_share_ppb), pct(v.stake_share_ppb));
    const b2 = before.validators.find((x) => x.hotkey === v.hotkey);
    const onChain = await field("weights_on_chain", row);
    if (onChain !== v.weights_on_chain && onChain !== b2?.weights_on_chain) fail("network", `weights on chain of ${v.hotkey}: ${onChain} vs ${v.weights_on_chain}`);
    between("network", `votes of ${v.hotkey}`, await field("votes", row), 0, Math.max(b ? b.votes : 0, v.votes, after.window));
  }
  if (after.validators.length < 2) fail("network", "a devnet of several validators shows fewer than two");
  await shot(page, "network");
  // On a phone: nothing wider than the screen but the tables' own scroll boxes.
  const phone = await open("network (phone)", "/ui", { viewport: { width: 390, height: 844 } });
  const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) fail("network (phone)", `the page is ${overflow}px wider than a 390px screen`);
  await shot(phone.page, "network-phone");
}

// Challenges.
let challengeIds = [];
{
  // Miners keep submitting while the page loads: a count must lie between the API's before and after.
  const before = await twin("/dashboard/challenges");
  const { page, field } = await open("challenges", "/ui/challenges");
  const api = await twin("/dashboard/challenges");
  challengeIds = api.challenges.map((c) => c.id);
  if (!challengeIds.includes("regression")) fail("challenges", `no regression challenge in ${challengeIds}`);
  same("challenges", "rows", String(await page.locator("#challenges tbody tr").count()), api.challenges.length);
  for (const c of api.challenges) {
    const row = page.locator(`#challenges tr[data-id="${c.id}"]`);
    same("challenges", `${c.id} module`, await field("module_hash", row), c.module_hash);
    same("challenges", `${c.id} mechanism`, await field("mechanism", row), c.mechanism);
    same("challenges", `${c.id} emission`, await field("emission_share", row), pct(c.emission_share_ppb));
    same("challenges", `${c.id} since`, await field("since_height", row), c.since_height);
    const b = before.challenges.find((x) => x.id === c.id);
    between("challenges", `${c.id} submissions`, await field("submissions_total", row), b ? b.submissions_total : 0, c.submissions_total);
  }
  await shot(page, "challenges");
}

// The journey of the submission made for this test, until its final score.
{
  const deadline = Date.now() + 1000 * Number(process.env.UI_FINAL_TIMEOUT_S || 180);
  let seen = [];
  let final = null;
  while (Date.now() < deadline) {
    const response = await fetch(`${base}/dashboard/submissions/${submission}`);
    if (response.ok) {
      const api = await response.json();
      const stage = api.weight_share_ppb !== null ? "weighted" : api.status;
      if (!seen.includes(stage)) seen.push(stage);
      // The journey ends when the epoch's agreed weights give the miner's uid its share.
      if (api.is_final && api.weight_share_ppb !== null) { final = api; break; }
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (!final) fail("journey", `no final score and weight within the timeout (stages seen: ${seen.join(" → ")})`);
  console.log(`journey of ${submission}: ${seen.join(" → ")}`);
  const { page, field } = await open("journey", `/ui/submissions/${submission}`);
  const api = await twin(`/dashboard/submissions/${submission}`);
  same("journey", "status", await field("status"), api.status);
  same("journey", "miner", await field("miner"), api.miner);
  same("journey", "height", await field("height"), dash(api.height));
  same("journey", "score", await field("score"), api.score_ppb === null ? "–" : pct(api.score_ppb));
  same("journey", "evaluations", await field("evaluation_count"), api.evaluations.length);
  same("journey", "weight", await field("weight_share"), api.weight_share_ppb === null ? "–" : pct(api.weight_share_ppb));
  if (api.status !== "scored") fail("journey", `the submission ended ${api.status}, not scored`);
  if (api.evaluations.length < 2) fail("journey", `${api.evaluations.length} evaluations on a devnet of several validators`);
  for (const e of api.evaluations) {
    const row = page.locator(`#evaluations tr[data-validator="${e.validator}"]`);
    same("journey", `evaluation by ${e.validator}`, await field("score", row), pct(e.score_ppb));
    same("journey", `fuel of ${e.validator}`, await field("fuel", row), dash(e.fuel_used));
    if (e.fuel_used === null || e.fuel_used <= 0) fail("journey", `no fuel for the evaluation by ${e.validator}`);
    same("journey", `agreement of ${e.validator}`, await field("agreeing", row), e.outlier ? "excluded as outlier" : "agreeing");
  }
  await shot(page, "journey");

  // Its leaderboard lists the miner. Scores move while the devnet runs (evaluations land,
  // submissions retire), so the page must show what the API said before it or after it.
  const boardBefore = await twin(`/dashboard/challenges/${api.challenge}`);
  const board = await open("leaderboard", `/ui/challenges/${api.challenge}`);
  const rows = await twin(`/dashboard/challenges/${api.challenge}`);
  either("leaderboard", "rows", String(await board.page.locator("#leaderboard tbody tr").count()), boardBefore.rows.length, rows.rows.length);
  const mine = rows.rows.find((r) => r.miner === api.miner);
  if (!mine) fail("leaderboard", `miner ${api.miner} is not on the leaderboard`);
  for (const r of rows.rows) {
    const row = board.page.locator(`#leaderboard tr[data-miner="${r.miner}"]`);
    const b = boardBefore.rows.find((x) => x.miner === r.miner);
    either("leaderboard", `rank of ${r.miner}`, await board.field("rank", row), b?.rank, r.rank);
    either("leaderboard", `score of ${r.miner}`, await board.field("score", row), pct(b?.score_ppb), pct(r.score_ppb));
    either("leaderboard", `confidence of ${r.miner}`, await board.field("confidence", row), pct(b?.confidence_ppb), pct(r.confidence_ppb));
  }
  await shot(board.page, "leaderboard");

  // Search: by the miner's hotkey, and by the submission id (which leads to the journey).
  const found = await open("search", `/ui/search?q=${encodeURIComponent(miner)}`);
  const listed = await twin(`/dashboard/search?q=${encodeURIComponent(miner)}`);
  same("search", "count", await found.field("count"), listed.submissions.length);
  if (!listed.submissions.some((s) => s.id === submission)) fail("search", `${submission} is not among the miner's submissions`);
  if ((await found.page.locator(`a[href="/ui/submissions/${submission}"]`).count()) !== 1) fail("search", "no link to the submission");
  await shot(found.page, "search");
  const byId = await open("search by id", `/ui/search?q=${submission}`);
  if (!byId.page.url().endsWith(`/ui/submissions/${submission}`)) fail("search by id", `landed on ${byId.page.url()}`);
}

// Weights over time. First wait until every validator's weights on chain were read back and
// matched an agreed vector (direct set_weights on the devnet: they land within the epoch).
{
  const validators = (await twin("/dashboard/network")).validators.map((v) => v.hotkey).sort();
  const deadline = Date.now() + 1000 * Number(process.env.UI_FINAL_TIMEOUT_S || 180);
  let matched = null;
  while (Date.now() < deadline && !matched) {
    const w = await twin("/dashboard/weights");
    matched = w.epochs.find((e) => e.mechanisms.some((m) => validators.every((v) => m.on_chain_matches.includes(v))));
    if (!matched) await new Promise((r) => setTimeout(r, 1000));
  }
  if (!matched) fail("weights", `no agreed vector was found on chain for all of ${validators.join(", ")} within the timeout`);
  else console.log(`epoch ${matched.epoch}'s agreed weights are on chain for all ${validators.length} validators`);
  const network = await twin("/dashboard/network");
  for (const v of network.validators) {
    if (!v.weights_on_chain.startsWith("matches epoch")) fail("network", `${v.hotkey}'s weights on chain: ${v.weights_on_chain}`);
  }
  const before = await twin("/dashboard/weights");
  const { page, field } = await open("weights", "/ui/weights");
  const after = await twin("/dashboard/weights");
  between("weights", "epochs", await field("epoch_count"), before.epochs.length, after.epochs.length);
  if (after.epochs.length === 0) fail("weights", "no agreed weights yet on a devnet that ran for minutes");
  for (const img of await page.locator("figure img").all()) {
    const width = await img.evaluate((i) => (i.complete ? i.naturalWidth : 0));
    if (width === 0) fail("weights", `the chart ${await img.getAttribute("src")} did not load`);
  }
  if (after.epochs.length > 0 && (await page.locator("figure img").count()) === 0) fail("weights", "no chart");
  for (const e of before.epochs) {
    for (const m of e.mechanisms) {
      const row = page.locator(`#weights tr[data-epoch="${e.epoch}"][data-mechanism="${m.mechanism}"]`);
      if ((await row.count()) === 0) continue; // fell out of the window meanwhile
      const shown = Number(await field("on_chain_count", row));
      const later = after.epochs.find((x) => x.epoch === e.epoch)?.mechanisms.find((x) => x.mechanism === m.mechanism);
      between("weights", `validators with epoch ${e.epoch}'s vector on chain`, shown, m.on_chain_matches.length,
        later ? later.on_chain_matches.length : m.on_chain_matches.length);
    }
  }
  await shot(page, "weights");
}

await browser.close();
if (failures.length) {
  console.error(`${failures.length} dashboard check(s) failed:`);
  for (const f of failures) console.error(`  ${f}`);
  process.exit(1);
}
console.log(`the dashboard's ${6} pages match their JSON twins in Chromium`);
