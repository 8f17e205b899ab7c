// Two people chat through a real `eschat serve` in Debian's Chromium
// (playwright-core), driven by tests/browser/test_web_client.py.
//
//   node scenario.mjs BASE_URL SCREENSHOT_DIR
//
// Talks to the Python side with JSON lines: prints {"step": "stop-server"} or
// {"step": "start-server"} and waits for {"done": ...} on stdin; prints
// {"metric": ...} lines with what it measured; exits 0 when every check held.
import { chromium } from "playwright-core";
import { join } from "node:path";
import readline from "node:readline";

const [base, shots] = process.argv.slice(2);
const PASSWORD = "correct-horse-42";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const WIDE = { width: 1280, height: 800 };
const NARROW = { width: 390, height: 844 };

const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
// ESCHAT_EXTRA_SHOTS=1: also screenshots of panels and forms, to look at (not in the README).
const extra = (page, name) => process.env.ESCHAT_EXTRA_SHOTS
  ? page.screenshot({ path: join(shots, `extra-${name}.png`) }) : null;
const log = (text) => out({ log: text });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// -- the Python side restarts the server on request ----------------------------
const replies = [];
let waiting = null;
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  replies.push(JSON.parse(line));
  if (waiting) waiting();
});
async function ask(step) {
  out({ step });
  for (;;) {
    const i = replies.findIndex((r) => r.done === step);
    if (i >= 0) return replies.splice(i, 1)[0];
    await new Promise((r) => { waiting = r; });
  }
}

// -- checks --------------------------------------------------------------------
async function until(what, probe, timeout = 15000) {
  const started = Date.now();
  let last;
  while (Date.now() - started < timeout) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    await sleep(40);
  }
  throw new Error(`waited ${timeout} ms for ${what}; last seen: ${JSON.stringify(last)}`);
}
const check = (ok, what) => { if (!ok) throw new Error(`check failed: ${what}`); };
const state = (page, testid) => page.getByTestId(testid).first().getAttribute("data-state");
const connected = (page, who) =>
  until(`${who} connected`, async () => (await state(page, "connection")) === "connected");
const chatItem = (page, chatId) => page.locator(`[data-testid=chat-item][data-chat-id="${chatId}"]`);
const unreadOf = async (page, chatId) => {
  const badge = chatItem(page, chatId).getByTestId("unread");
  return (await badge.isVisible()) ? (await badge.textContent()).trim() : "0";
};
// A message by its own text (not the text it quotes).
const messageWith = (page, text) =>
  page.getByTestId("message").filter({ has: page.locator(".content", { hasText: text }) });

async function receiptOf(page, text) {
  return messageWith(page, text).getByTestId("receipt").getAttribute("data-state");
}

async function api(token, method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

async function register(username) {
  const r = await fetch(base + "/api/auth/register", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  check(r.status === 201, `register ${username}: ${r.status}`);
  const login = await fetch(base + "/api/auth/login", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  return (await login.json()).accessToken;
}

const tokenOf = (page) => page.evaluate(() => localStorage.getItem("eschat.token"));

/** Records every receipt state each message shows, in order (sent, delivered, read). */
function recordReceipts(page) {
  return page.evaluate(() => {
    window.__receipts = {};
    const look = () => {
      for (const r of document.querySelectorAll("[data-testid=message] [data-testid=receipt]")) {
        const id = r.closest("[data-testid=message]").dataset.messageId;
        const seen = (window.__receipts[id] ??= []);
        if (seen[seen.length - 1] !== r.dataset.state) seen.push(r.dataset.state);
      }
    };
    new MutationObserver(look).observe(document.body, {
      subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"],
    });
    look();
  });
}

/** First-load figures from the browser's own timing (Resource Timing, User Timing),
 * once the page has set the marks named (they come from effects, after the paint). */
async function loadFigures(page, marks) {
  await until(`the page's marks ${marks}`, () => page.evaluate(
    (names) => names.every((n) => performance.getEntriesByName(n).length > 0), marks));
  return page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const resources = performance.getEntriesByType("resource");
    const statics = resources.filter((r) => new URL(r.name).pathname.startsWith("/assets/"));
    const sum = (list, key) => list.reduce((n, r) => n + (r[key] || 0), 0);
    const mark = (name) => performance.getEntriesByName(name)[0]?.startTime ?? null;
    return {
      documentBytes: nav.transferSize,
      assetBytes: sum(statics, "transferSize"),
      assetBodyBytes: sum(statics, "decodedBodySize"),
      assets: statics.map((r) => ({ path: new URL(r.name).pathname, transferSize: r.transferSize })),
      allBytes: nav.transferSize + sum(resources, "transferSize"),
      requests: 1 + resources.length,
      domInteractiveMs: nav.domInteractive,
      domContentLoadedMs: nav.domContentLoadedEventEnd,
      signInFormMs: mark("eschat:sign-in-form"),
      chatListMs: mark("eschat:chat-list"),
      connectedMs: mark("eschat:connected"),
    };
  });
}

async function main() {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ARGS });
  const profiles = [];
  const pages = [];
  // Each person gets a context of their own (separate storage, like two browsers).
  async function person(viewport = WIDE) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.on("pageerror", (e) => log(`page error: ${e.message}`));
    page.reconnects = [];
    page.websockets = 0;
    page.on("websocket", () => { page.websockets++; });
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") log(`console: ${m.text()}`);
      const recovered = /^eschat: reconnected \(recovered: (\w+)\)/.exec(m.text());
      if (recovered) page.reconnects.push(recovered[1] === "true");
    });
    profiles.push(context);
    pages.push(page);
    return { context, page };
  }

  try {
    // What this server offers beyond the core contract (privacy and erasure land separately).
    const served = await (await fetch(base + "/schema/openapi.json")).json();

    // -- first load, then alice signs up with the keyboard alone ----------------------
    const { page: a } = await person();
    await a.goto(base + "/");
    await a.getByTestId("username").waitFor();
    const coldLogin = await loadFigures(a, ["eschat:sign-in-form"]);
    out({ metric: "first load (sign-in page, cold cache)", ...coldLogin });
    check(await a.evaluate(() => document.activeElement?.dataset.testid === "username"),
      "the username field has the focus on load");
    await a.keyboard.type("alice");
    await a.keyboard.press("Tab");
    await a.keyboard.type(PASSWORD);
    await a.keyboard.press("Tab");
    check(await a.evaluate(() => document.activeElement?.dataset.testid === "login"),
      "Tab from the password reaches Log in");
    await a.keyboard.press("Tab");
    check(await a.evaluate(() => document.activeElement?.dataset.testid === "register"),
      "then Sign up");
    await a.keyboard.press("Enter");
    await connected(a, "alice");
    await until("the connection upgraded to a WebSocket (the page's CSP allows it)",
      async () => a.websockets > 0);
    log("alice signed up with the keyboard and is connected");

    // -- bob: a wrong login reads as such, then he signs up --------------------------------
    const { context: bobContext, page: b } = await person();
    await b.goto(base + "/");
    await b.getByTestId("username").fill("bob");
    await b.getByTestId("password").fill("not-his-password");
    await b.getByTestId("login").click();
    await until("bob's login error", async () =>
      (await b.getByTestId("auth-error").textContent()) === "Wrong username or password.");
    // The login limit (CONTRACT.md: at most 10 wrong passwords per account per 15 minutes):
    // ten wrong guesses at another account, then the form's next try gets 429 + Retry-After.
    for (let i = 0; i < 10; i++) {
      await fetch(base + "/api/auth/login", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username: "mallory", password: `guess-${i}-wrong` }),
      });
    }
    await b.getByTestId("username").fill("mallory");
    await b.getByTestId("password").fill("guess-10-wrong");
    await b.getByTestId("login").click();
    await until("bob's page shows the rate-limit message", async () =>
      /^Too many attempts\. Try again in \d+ minutes\.$/.test(
        (await b.getByTestId("auth-error").textContent()) ?? ""));
    await extra(b, "login-error");
    await b.getByTestId("username").fill("bob");
    await b.getByTestId("password").fill(PASSWORD);
    await b.getByTestId("register").click();
    await connected(b, "bob");
    log("bob saw 'Wrong username or password.', then the server's 429 in words, then signed up");

    // -- alice creates a chat with bob -----------------------------------------------------------
    await a.getByTestId("new-chat").click();
    await until("the members field has the focus", () =>
      a.evaluate(() => document.activeElement?.dataset.testid === "new-chat-members"));
    await a.keyboard.type("bob");
    await a.getByTestId("create-chat").click();
    const chatId = await until("the new chat opens", async () =>
      decodeURIComponent(/#\/chats\/([^/]+)/.exec(a.url())?.[1] ?? "") || null);
    await chatItem(a, chatId).waitFor();
    await until("bob is online in alice's chat header", async () =>
      (await a.getByTestId("presence").getAttribute("data-online")) === "true");
    await recordReceipts(a);
    log(`alice created chat ${chatId}; bob shows online`);

    // -- alice's first message: sent, delivered (bob's list has it, unread), read -------------
    const composer = a.getByTestId("composer");
    await composer.focus();
    await a.keyboard.type("Hi Bob! Are we still on for Saturday?");
    await a.keyboard.press("Enter");
    await until("bob's chat list shows the chat with 1 unread", async () =>
      (await unreadOf(b, chatId)) === "1");
    await until("alice's message delivered", async () =>
      (await receiptOf(a, "Hi Bob!")) === "delivered");
    check((await composer.inputValue()) === "", "Enter sent and emptied the composer");
    log("unread 1 at bob; alice's message delivered before bob opened the chat");

    await chatItem(b, chatId).focus();
    await b.keyboard.press("Enter"); // the list is usable without a mouse too
    await messageWith(b, "Hi Bob!").waitFor();
    check(await b.getByTestId("unread-divider").evaluate((el) =>
      el.nextElementSibling?.textContent?.includes("Hi Bob!")),
    "'New messages' sits right above the message that was unread");
    await extra(b, "unread-divider");
    await until("bob's unread back to 0", async () => (await unreadOf(b, chatId)) === "0");
    await until("alice's message read", async () => (await receiptOf(a, "Hi Bob!")) === "read");
    const firstId = await messageWith(a, "Hi Bob!").getAttribute("data-message-id");
    const states = await a.evaluate((id) => window.__receipts[id], firstId);
    check(JSON.stringify(states) === JSON.stringify(["sent", "delivered", "read"]),
      `alice's message went sent -> delivered -> read (saw ${JSON.stringify(states)})`);
    log("bob opened the chat: unread 0; alice saw sent -> delivered -> read");

    // -- typing ----------------------------------------------------------------------------------
    await composer.focus();
    await a.keyboard.type("I can bring the tent");
    await until("bob sees alice typing", async () =>
      (await b.getByTestId("typing").textContent()) === "alice is typing…");
    await a.keyboard.press("Enter");
    await messageWith(b, "I can bring the tent").waitFor();
    await until("bob no longer sees alice typing", async () =>
      (await b.getByTestId("typing").textContent()) === "");
    log("bob saw 'alice is typing…', then her message, then no typing");

    // -- bob answers ---------------------------------------------------------------------------------
    // Bob opened the chat from the keyboard: the cursor is in the composer already.
    check(await b.evaluate(() => document.activeElement?.dataset.testid === "composer"),
      "opening a chat puts the focus in its composer");
    await b.keyboard.type("Yes! I'll bring snacks and the café's cake");
    await b.keyboard.press("Enter");
    await messageWith(a, "I'll bring snacks").waitFor();
    await until("bob's answer read by alice", async () =>
      (await receiptOf(b, "I'll bring snacks")) === "read");
    log("bob's answer reached alice and shows read");

    // -- messages over time: a reaction, an edit, a quoted reply, a thread reply, a pin, a delete --
    const mainOf = (page) => page.locator(".chat-main");
    const openActions = (page, text) =>
      mainOf(page).getByTestId("message").filter({ has: page.locator(".content", { hasText: text }) })
        .getByTestId("message-actions").click();
    await openActions(b, "Hi Bob!");
    await mainOf(b).locator('[data-testid=react][data-emoji="👍"]').click();
    await until("alice sees bob's 👍 on her message", async () => {
      const chip = messageWith(a, "Hi Bob!").locator('[data-testid=reaction][data-emoji="👍"]');
      return (await chip.count()) === 1 && (await chip.textContent()).includes("1");
    });
    log("bob reacted 👍 from the message's actions; alice sees it");

    // The same from the keyboard: ⋯ opens the menu with the focus in it, Escape gives it back.
    const actionsOf = (page, text) => mainOf(page).getByTestId("message")
      .filter({ has: page.locator(".content", { hasText: text }) }).getByTestId("message-actions");
    await actionsOf(a, "I'll bring snacks").focus();
    await a.keyboard.press("Enter");
    await until("the menu took the focus", () =>
      a.evaluate(() => document.activeElement?.dataset.emoji === "👍"));
    await a.keyboard.press("Escape");
    await until("Escape closed the menu and gave the focus back to ⋯", async () =>
      (await a.evaluate(() => document.activeElement?.dataset.testid === "message-actions"))
      && (await a.locator(".actions-menu").count()) === 0);
    await a.keyboard.press("Enter");
    await until("the menu is open again", () =>
      a.evaluate(() => document.activeElement?.dataset.emoji === "👍"));
    await a.keyboard.press("Tab");
    await a.keyboard.press("Enter");
    await until("bob sees alice's ❤️, given with the keyboard", async () =>
      (await messageWith(b, "I'll bring snacks").locator('[data-testid=reaction][data-emoji="❤️"]').count()) === 1);
    log("alice reacted ❤️ from the keyboard (on ⋯: Enter, Tab, Enter); Escape closes the menu");

    await openActions(a, "I can bring the tent");
    await a.getByTestId("action-edit").click();
    await until("Edit puts the text in the composer", async () =>
      (await composer.inputValue()) === "I can bring the tent");
    await composer.fill("I can bring the big tent");
    await composer.press("Enter");
    await until("bob sees the edit, marked edited", async () => {
      const m = messageWith(b, "I can bring the big tent");
      return (await m.count()) === 1 && (await m.getByTestId("edited").count()) === 1;
    });
    await messageWith(b, "I can bring the big tent").getByTestId("edited").click();
    await until("bob's edit history lists both versions, the original first", async () => {
      const items = await b.getByTestId("edits").locator("li p").allTextContents();
      return JSON.stringify(items) === JSON.stringify(["I can bring the tent", "I can bring the big tent"]);
    });
    await b.keyboard.press("Escape");
    log("alice edited her message; bob sees it marked edited, with both versions in its history");

    await openActions(b, "I can bring the big tent");
    await b.getByTestId("action-reply").click();
    await until("the composer says whom bob replies to", async () =>
      ((await b.getByTestId("draft").textContent()) ?? "").startsWith("Replying to alice"));
    await until("Reply put the focus in the composer", () =>
      b.evaluate(() => document.activeElement?.dataset.testid === "composer"));
    await b.keyboard.type("Perfect, I have room for it in the car");
    await b.keyboard.press("Enter");
    await until("alice sees bob's reply quoting her message", async () =>
      ((await messageWith(a, "Perfect, I have room for it").getByTestId("quote").textContent()) ?? "")
        .includes("I can bring the big tent"));
    await messageWith(a, "Perfect, I have room for it").getByTestId("quote").click();
    await until("the quote leads to the quoted message", async () =>
      (await a.evaluate(() => document.activeElement?.closest("[data-testid=message]")
        ?.querySelector(".content")?.textContent)) === "I can bring the big tent");
    log("bob replied quoting alice's message; alice sees the quote above his answer, and it leads there");

    await openActions(b, "I can bring the big tent");
    await b.getByTestId("action-thread").click();
    await b.getByTestId("thread-composer").fill("Great, I'll bring the stove");
    await b.getByTestId("thread-composer").press("Enter");
    await b.getByTestId("thread").getByText("Great, I'll bring the stove").waitFor();
    if (process.env.ESCHAT_EXTRA_SHOTS) {
      await b.setViewportSize(NARROW);
      await extra(b, "thread-narrow");
      await b.setViewportSize(WIDE);
    }
    await until("alice sees '1 reply' under her message", async () =>
      ((await messageWith(a, "I can bring the big tent").getByTestId("thread-summary").textContent()) ?? "")
        .startsWith("1 reply"));
    check((await mainOf(a).getByText("Great, I'll bring the stove").count()) === 0,
      "a thread reply is not in the main timeline");
    await messageWith(a, "I can bring the big tent").getByTestId("thread-summary").click();
    await a.getByTestId("thread").getByText("Great, I'll bring the stove").waitFor();
    await a.keyboard.press("Escape");
    await b.keyboard.press("Escape");
    log("bob replied in a thread; alice sees '1 reply', not in her timeline, and reads it in the panel");

    await openActions(a, "Hi Bob!");
    await a.getByTestId("action-pin").click();
    await until("bob sees alice's first message pinned", async () =>
      (await messageWith(b, "Hi Bob!").getByTestId("pinned").count()) === 1);
    await b.getByTestId("open-pins").click();
    await until("bob's pins panel lists it", async () =>
      ((await b.getByTestId("pins").textContent()) ?? "").includes("Hi Bob!"));
    const focusedText = (page) => page.evaluate(() =>
      document.activeElement?.closest("[data-testid=message]")?.querySelector(".content")?.textContent);
    await b.getByTestId("pins").getByRole("button").first().click();
    await until("the pin leads to its message in the timeline", async () =>
      (await focusedText(b))?.startsWith("Hi Bob!"));
    await b.keyboard.press("Escape");
    log("alice pinned her first message; bob sees it marked and in the chat's pins");

    await composer.fill("Oops, that was for the other chat");
    await composer.press("Enter");
    await messageWith(b, "Oops, that was for the other chat").waitFor();
    a.once("dialog", (d) => d.accept());
    await openActions(a, "Oops, that was for the other chat");
    await a.getByTestId("action-delete").click();
    await until("bob sees the message deleted, its text gone", async () =>
      (await b.locator('[data-testid=message][data-deleted="true"]').count()) === 1
      && (await b.getByText("Oops, that was for the other chat").count()) === 0);
    log("alice deleted a message; bob sees 'This message was deleted' and not its text");

    await b.getByTestId("composer").focus();
    await b.keyboard.type("Thanks @al");
    await until("bob's composer suggests @alice", async () =>
      ((await b.getByTestId("mention-suggestions").textContent()) ?? "") === "@alice");
    await b.keyboard.press("Tab");
    await until("Tab completed the mention", async () =>
      (await b.getByTestId("composer").inputValue()) === "Thanks @alice ");
    await b.keyboard.type("see you there!");
    await b.keyboard.press("Enter");
    await until("alice sees herself mentioned in bob's message", async () =>
      (await messageWith(a, "see you there!").locator(".mention.me", { hasText: "@alice" }).count()) === 1);
    log("bob typed @al, took the suggestion with Tab; alice sees the mention highlighted");

    // -- a group with a third person, for the screenshots and the list -----------------------------
    const aliceToken = await tokenOf(a);
    const carolToken = await register("carol");
    const group = await api(aliceToken, "POST", "/api/chats",
      { title: "Weekend trip", memberIds: ["bob", "carol"] });
    await api(carolToken, "POST", `/api/chats/${group.id}/messages`,
      { content: "Who's driving on Saturday?" });
    await api(carolToken, "POST", `/api/chats/${group.id}/messages`,
      { content: "I can take 3 people and the bikes" });
    await until("alice's list shows the group with 2 unread", async () =>
      (await unreadOf(a, group.id)) === "2");
    await api(carolToken, "POST", `/api/chats/${group.id}/messages`,
      { content: "@alice can you bring the map?" });
    await until("alice's list shows 3 unread and a mention in the group", async () =>
      (await unreadOf(a, group.id)) === "3"
      && ((await chatItem(a, group.id).getByTestId("unread-mentions").textContent()) ?? "") === "@1");
    log("a message to a chat alice had not loaded yet counts as unread in her list; a mention shows @1");

    // -- a direct chat with carol, named after her, the same chat when opened again -------------
    const opened = [];
    for (let i = 0; i < 2; i++) {
      await a.getByTestId("new-chat").click();
      await a.getByTestId("new-chat-members").fill("carol");
      await a.getByTestId("new-chat-direct").check();
      if (i === 0) await extra(a, "new-direct-chat");
      await a.getByTestId("create-chat").click();
      await until("the direct chat opens, named carol", async () =>
        (await a.locator(".chat-head h2").textContent()) === "carol");
      opened.push(decodeURIComponent(/#\/chats\/([^/]+)/.exec(a.url())?.[1] ?? ""));
    }
    check(opened[0] && opened[0] === opened[1], `opening the direct chat twice gives one chat (${opened})`);
    check((await chatItem(a, opened[0]).count()) === 1, "the direct chat is listed once");
    check(((await chatItem(a, opened[0]).locator(".chat-name").textContent()) ?? "") === "carol",
      "the list names the direct chat after carol");
    log("alice opened a direct chat with carol twice: one chat, named carol");

    await a.getByRole("button", { name: "Members (2)" }).click();
    await a.getByRole("button", { name: "Block carol" }).click();
    await a.getByRole("button", { name: "Unblock carol" }).waitFor();
    const blocked = await fetch(`${base}/api/chats/${opened[0]}/messages`, {
      method: "POST", headers: { Authorization: `Bearer ${carolToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ content: "Can you hear me?" }),
    });
    check(blocked.status === 403, `carol cannot write to alice once blocked (${blocked.status})`);
    await a.getByRole("button", { name: "Unblock carol" }).click();
    await a.getByRole("button", { name: "Block carol" }).waitFor();
    await until("alice's block list is empty again", async () =>
      (await api(aliceToken, "GET", "/api/me/blocks")).length === 0);
    await a.keyboard.press("Escape");
    log("alice blocked carol from the direct chat's panel (carol's message refused), then unblocked her");

    // -- roles: alice owns the group and makes carol an admin --------------------------------------
    await chatItem(a, group.id).click();
    await a.locator(".mention.me", { hasText: "@alice" }).waitFor();
    await until("opening the group read it: no unread count, no mention badge", async () =>
      (await unreadOf(a, group.id)) === "0"
      && (await chatItem(a, group.id).getByTestId("unread-mentions").count()) === 0);
    await a.getByRole("button", { name: "Members (3)" }).click();
    await until("alice shows as the group's owner", async () =>
      (await a.locator(`[data-testid=member][data-user-id="alice"]`).getAttribute("data-role")) === "owner");
    await a.locator(`[data-testid=member][data-user-id="carol"]`).getByRole("button", { name: "Make admin" }).click();
    await until("carol shows as an admin", async () =>
      (await a.locator(`[data-testid=member][data-user-id="carol"]`).getAttribute("data-role")) === "admin");
    await a.locator(`[data-testid=member][data-user-id="carol"]`).getByRole("button", { name: "Remove admin" }).click();
    await until("carol is a member again", async () =>
      (await a.locator(`[data-testid=member][data-user-id="carol"]`).getAttribute("data-role")) === "member");
    await a.keyboard.press("Escape");
    await chatItem(a, chatId).click();
    await messageWith(a, "I'll bring snacks").waitFor();
    log("alice is the group's owner; she made carol an admin from the members panel, then a member again");

    // -- screenshots: the list and a chat, wide and narrow ---------------------------------------
    // Some news elsewhere, so the list shows unread counts and a mention beside the open chat.
    await api(carolToken, "POST", `/api/chats/${opened[0]}/messages`,
      { content: "Do you still have my tent pegs?" });
    await api(carolToken, "POST", `/api/chats/${group.id}/messages`,
      { content: "Bikes are on the rack 🚲" });
    await api(carolToken, "POST", `/api/chats/${group.id}/messages`,
      { content: "@alice is the map in your car?" });
    await until("alice's list: 1 unread from carol, 2 and a mention in the group", async () =>
      (await unreadOf(a, opened[0])) === "1" && (await unreadOf(a, group.id)) === "2"
      && ((await chatItem(a, group.id).getByTestId("unread-mentions").textContent()) ?? "") === "@1");
    await b.getByTestId("composer").fill("Let me check the weather");
    await until("alice sees bob typing", async () =>
      (await a.getByTestId("typing").textContent()) === "bob is typing…");
    // The wide chat with its thread open in the side panel.
    await messageWith(a, "I can bring the big tent").getByTestId("thread-summary").click();
    await a.getByTestId("thread").getByText("Great, I'll bring the stove").waitFor();
    await a.mouse.move(0, 0);
    await a.screenshot({ path: join(shots, "webclient-wide-chat.png") });
    await a.keyboard.press("Escape");
    await a.goto(base + "/#/");
    await a.getByTestId("chat-item").first().waitFor();
    await a.mouse.move(0, 0);
    await a.screenshot({ path: join(shots, "webclient-wide-list.png") });
    await a.setViewportSize(NARROW);
    await a.screenshot({ path: join(shots, "webclient-narrow-list.png") });
    await chatItem(a, chatId).click();
    await messageWith(a, "I'll bring snacks").waitFor();
    check(!(await chatItem(a, chatId).isVisible()), "narrow: the open chat takes the whole screen");
    await a.mouse.move(0, 0);
    await a.screenshot({ path: join(shots, "webclient-narrow-chat.png") });
    await a.getByRole("link", { name: "Back to chats" }).click();
    await chatItem(a, chatId).waitFor();
    await a.setViewportSize(WIDE);
    await chatItem(a, chatId).click();
    await connected(a, "alice");
    await b.getByTestId("composer").fill("");
    log("screenshots taken (wide and narrow); narrow shows one pane, Back returns to the list");

    // -- chats people run: a new group reaches bob live; alice mutes, bans, invites him back -----
    await a.getByTestId("new-chat").click();
    await a.getByTestId("new-chat-members").fill("bob");
    await a.locator("#new-chat-title").fill("Book club");
    await a.getByTestId("create-chat").click();
    await until("the book club opens", async () =>
      (await a.locator(".chat-head h2").textContent()) === "Book club");
    const club = decodeURIComponent(/#\/chats\/([^/]+)/.exec(a.url())?.[1] ?? "");
    await until("bob's list shows the book club, live (chat-added)", async () =>
      (await chatItem(b, club).count()) === 1
      && (await chatItem(b, club).locator(".chat-name").textContent()) === "Book club");
    await chatItem(b, club).click();
    await b.getByTestId("composer").waitFor();
    await a.getByRole("button", { name: "Members (2)" }).click();
    const bobRow = a.locator(`[data-testid=member][data-user-id="bob"]`);
    await bobRow.getByRole("button", { name: "Mute 1 h" }).click();
    await until("bob's composer says he is muted, and until when", async () =>
      /^You are muted in this chat until /.test((await b.getByTestId("muted").textContent()) ?? ""));
    check((await b.getByTestId("composer").count()) === 0, "a muted member has no composer");
    await extra(b, "muted");
    await bobRow.locator(".muted-role").waitFor();
    await bobRow.getByRole("button", { name: "Unmute" }).click();
    await b.getByTestId("composer").waitFor();
    log("alice muted bob from the members panel: his composer said so; unmuted, it came back");

    await bobRow.getByRole("button", { name: "Ban" }).click();
    await until("the book club left bob's list, live (chat-removed)", async () =>
      (await chatItem(b, club).count()) === 0);
    await until("bob is told why", async () =>
      ((await b.locator(".banner").textContent()) ?? "").includes("You were banned from Book club."));
    await a.locator(`[data-testid=banned][data-user-id="bob"]`).waitFor();
    await a.getByTestId("create-invite").click();
    const invite = await a.getByTestId("invite-link").inputValue();
    check(/\/#\/invite\/[^/]+$/.test(invite), `an invite link (${invite})`);
    await b.getByRole("button", { name: "Dismiss" }).click();
    await b.goto(invite);
    await until("a banned user's invite is refused, in words", async () =>
      ((await b.locator(".banner").textContent()) ?? "").includes("you are banned from it"));
    await b.getByRole("button", { name: "Dismiss" }).click();
    await a.locator(`[data-testid=banned][data-user-id="bob"]`).getByRole("button", { name: "Unban" }).click();
    await until("bob is no longer listed as banned", async () =>
      (await a.locator(`[data-testid=banned]`).count()) === 0);
    await b.goto(invite);
    await until("bob joined by the invite and the book club opened", async () =>
      (await b.locator(".chat-head h2").textContent()) === "Book club"
      && (await chatItem(b, club).count()) === 1);
    await a.getByRole("button", { name: "Members (2)" }).waitFor();
    await a.getByTestId("revoke-invite").click();
    await a.getByTestId("create-invite").waitFor();
    await a.keyboard.press("Escape");
    log("alice banned bob (his list lost the chat, he was told), unbanned him, he came back by invite; she revoked it");

    await api(aliceToken, "POST", `/api/chats/${club}/messages`, { content: "Welcome back, bob" });
    await messageWith(b, "Welcome back").waitFor();
    b.once("dialog", (d) => d.accept("Just trying the report button"));
    await openActions(b, "Welcome back");
    await b.getByTestId("action-report").click();
    await until("bob is told his report went to the admins", async () =>
      ((await b.locator(".banner").textContent()) ?? "").includes("Reported to the chat's admins."));
    await b.getByRole("button", { name: "Dismiss" }).click();
    await a.getByRole("button", { name: "Members (2)" }).click();
    await until("alice's members panel lists bob's report, with his reason", async () => {
      const text = (await a.getByTestId("reports").textContent()) ?? "";
      return text.includes("bob reported alice: “Welcome back, bob”")
        && text.includes("Just trying the report button");
    });
    await extra(a, "members-panel");
    await a.setViewportSize(NARROW);
    await extra(a, "members-panel-narrow");
    await a.setViewportSize(WIDE);
    await a.keyboard.press("Escape");
    log("bob reported alice's message from its actions; alice, an admin, sees it in the members panel");

    // -- privacy: bob stops sending read receipts (where the server has the settings) -------------
    if (process.env.ESCHAT_EXTRA_SHOTS) {
      await b.getByTestId("open-settings").click();
      await b.getByRole("button", { name: "Delete my account…" }).click();
      await extra(b, "settings");
      await b.getByTestId("open-settings").click();
    }
    if (served.paths["/api/me/settings"]) {
      const bobToken = await tokenOf(b);
      await b.getByTestId("open-settings").click();
      await b.getByTestId("setting-read-receipts").uncheck();
      await until("bob's setting is stored", async () =>
        (await api(bobToken, "GET", "/api/me/settings")).readReceipts === false);
      await b.getByTestId("open-settings").click();
      await a.getByTestId("composer").fill("Did you finish the book?");
      await a.getByTestId("composer").press("Enter");
      await messageWith(b, "Did you finish the book?").waitFor();
      await until("alice's question delivered", async () =>
        (await receiptOf(a, "Did you finish the book?")) === "delivered");
      await until("bob read it: his own unread count is 0, on the server too", async () =>
        (await unreadOf(b, club)) === "0"
        && (await api(bobToken, "GET", "/api/chats")).find((c) => c.id === club)?.unreadCount === 0);
      check((await receiptOf(a, "Did you finish the book?")) === "delivered",
        "with read receipts off, alice never sees bob's read");
      await b.getByTestId("open-settings").click();
      await b.getByTestId("setting-read-receipts").check();
      await until("bob's read receipts are back on", async () =>
        (await api(bobToken, "GET", "/api/me/settings")).readReceipts === true);
      await b.getByTestId("open-settings").click();
      log("bob turned read receipts off in Settings: alice's message stayed 'delivered' after he read it");
    } else {
      log("this server has no /api/me/settings: the privacy settings were not exercised");
    }

    // -- the admin renames the group (bob sees it live); bob leaves it (alice sees it live) --------
    await a.getByRole("button", { name: "Members (2)" }).click();
    await a.getByRole("button", { name: "Edit title and description" }).click();
    await a.locator("#chat-title").fill("Book club: Dune");
    await a.locator("#chat-description").fill("Chapters 1 to 5 by Friday");
    await a.getByRole("button", { name: "Save" }).click();
    await until("bob's list and header show the new title, live (chat-updated)", async () =>
      (await chatItem(b, club).locator(".chat-name").textContent()) === "Book club: Dune"
      && (await b.locator(".chat-head h2").textContent()) === "Book club: Dune");
    await a.locator(`[data-testid=member][data-user-id="bob"]`).getByRole("button", { name: "Make owner" }).click();
    await b.getByRole("button", { name: "Members (2)" }).click();
    const roleAt = (page, user) =>
      page.locator(`[data-testid=member][data-user-id="${user}"]`).getAttribute("data-role");
    await until("bob's panel shows him the owner and alice an admin, live (admins-changed)", async () =>
      (await roleAt(b, "bob")) === "owner" && (await roleAt(b, "alice")) === "admin");
    await b.getByRole("button", { name: "Leave chat" }).click();
    await until("the group left bob's list", async () => (await chatItem(b, club).count()) === 0);
    await until("alice sees bob gone and the chat hers again, live (member-left)", async () =>
      (await a.getByRole("button", { name: "Members (1)" }).count()) === 1
      && (await roleAt(a, "alice")) === "owner");
    await a.keyboard.press("Escape");
    await b.goto(invite);
    await until("the revoked invite tells bob so", async () =>
      ((await b.locator(".banner").textContent()) ?? "").includes("does not exist (or was revoked)"));
    await b.getByRole("button", { name: "Dismiss" }).click();
    log("alice renamed the group (bob saw it at once) and handed it to bob; he left, and it came back to her; the revoked link did not let him back in");

    await chatItem(a, chatId).click();
    await messageWith(a, "I'll bring snacks").waitFor();

    // -- history: infinite scroll upward through 120 messages -----------------------------------
    const long = await api(aliceToken, "POST", "/api/chats", { title: "Archive", memberIds: ["bob"] });
    for (let i = 1; i <= 120; i++) {
      await api(aliceToken, "POST", `/api/chats/${long.id}/messages`, { content: `archived note ${i}` });
    }
    await until("bob's list shows 120 unread in the archive", async () =>
      (await unreadOf(b, long.id)) === "120");
    await chatItem(b, long.id).click();
    await messageWith(b, "archived note 120").waitFor();
    check((await b.getByTestId("message").count()) === 50, "the first page holds the latest 50");
    await until("older pages load while scrolling up", async () => {
      await b.locator(".messages").evaluate((el) => { el.scrollTop = 0; });
      return (await b.getByTestId("message").count()) === 120;
    }, 20000);
    const seqs = await b.getByTestId("message").evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
    check(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), "the timeline is in seq order");
    await b.locator(".messages").evaluate((el) => { el.scrollTop = 0; });
    await until("the first message on screen, below the start of the chat", async () =>
      (await b.getByTestId("message")
        .filter({ has: b.getByText("archived note 1", { exact: true }) }).isVisible())
      && (await b.getByText("This is the beginning of the chat.").isVisible()));
    await until("bob read the archive", async () => (await unreadOf(b, long.id)) === "0");
    await chatItem(b, chatId).click();
    await messageWith(b, "I'll bring snacks").waitFor();
    log("bob scrolled up from the latest 50 to the first of 120 messages");

    // -- the browser goes offline and back ----------------------------------------------------------
    await bobContext.setOffline(true);
    await until("bob's indicator shows offline", async () => (await state(b, "connection")) === "offline");
    await composer.fill("Sent while bob was offline");
    await composer.press("Enter");
    await until("alice's message is stored while bob is away", async () =>
      (await receiptOf(a, "Sent while bob was offline")) === "sent");
    await bobContext.setOffline(false);
    await connected(b, "bob");
    await until("bob sees what came while he was offline, without a reload", async () =>
      (await messageWith(b, "Sent while bob was offline").count()) === 1, 20000);
    await until("and alice sees it read", async () =>
      (await receiptOf(a, "Sent while bob was offline")) === "read", 20000);
    log("bob's indicator: offline, then connected again; the message sent meanwhile reached him");

    // -- the server restarts; messages sent meanwhile arrive without a reload ------------------------
    await a.evaluate(() => { window.__sameDocument = true; });
    await b.evaluate(() => { window.__sameDocument = true; });
    const reconnectsBefore = [a.reconnects.length, b.reconnects.length];
    await ask("stop-server");
    await until("alice reconnecting", async () => (await state(a, "connection")) === "reconnecting");
    await until("bob reconnecting", async () => (await state(b, "connection")) === "reconnecting");
    await composer.fill("Sent while the server was down");
    await composer.press("Enter");
    await a.locator(".pending").filter({ hasText: "Sent while the server was down" }).waitFor();
    log("server stopped: both show reconnecting; alice's message waits as sending");
    await ask("start-server");
    await api(aliceToken, "POST", `/api/chats/${chatId}/messages`,
      { content: "Sent while bob was reconnecting", clientMessageId: "restart-1" });
    await connected(a, "alice");
    await connected(b, "bob");
    for (const text of ["Sent while the server was down", "Sent while bob was reconnecting"]) {
      await until(`bob sees "${text}"`, async () => (await messageWith(b, text).count()) === 1, 20000);
    }
    await until("alice's queued message was stored and read", async () =>
      (await receiptOf(a, "Sent while the server was down")) === "read", 20000);
    check(await b.evaluate(() => window.__sameDocument === true), "bob's page was not reloaded");
    for (const [i, page] of [a, b].entries()) {
      const after = page.reconnects.slice(reconnectsBefore[i]);
      check(after.length > 0 && after.every(Boolean),
        `Socket.IO recovered the session after the restart (${JSON.stringify(after)})`);
    }
    check(await a.evaluate(() => window.__sameDocument === true), "alice's page was not reloaded");
    check((await messageWith(a, "Sent while the server was down").count()) === 1,
      "alice's queued message shows once");
    log("server restarted: reconnecting -> connected, sessions recovered, both messages arrived once, no reload");

    // -- the members panel: alice adds carol, then closes it with Escape -----------------------
    await a.getByRole("button", { name: "Members (2)" }).click();
    await a.getByLabel("Add a member").fill("carol");
    await a.getByLabel("Add a member").press("Enter");
    await a.getByRole("button", { name: "Members (3)" }).waitFor();
    await a.locator(".member-name", { hasText: "carol" }).waitFor();
    await a.locator(`[data-testid=member][data-user-id="carol"]`).getByRole("button", { name: "Remove", exact: true }).click();
    await a.getByRole("button", { name: "Members (2)" }).waitFor();
    await a.getByLabel("Add a member").fill("carol");
    await a.getByLabel("Add a member").press("Enter");
    await a.getByRole("button", { name: "Members (3)" }).waitFor();
    await a.keyboard.press("Escape");
    await until("Escape closed the members panel", async () =>
      (await a.locator("#members-panel").count()) === 0);
    log("alice added carol from the members panel, removed her, added her again; Escape closed it");

    // -- bob leaves: alice sees him offline ------------------------------------------------------
    const bobToken = await tokenOf(b);
    await bobContext.close();
    // carol never connected, so with bob gone nobody else in the chat is online.
    await until("bob offline in alice's header", async () =>
      (await a.getByTestId("presence").getAttribute("data-online")) === "false");
    log("bob closed his browser: alice's header shows him offline");

    // -- bob, on his phone, deletes his account (where the server erases): alice sees his ---------
    // -- messages erased ------------------------------------------------------------------------
    if (served.paths["/api/me"]?.delete) {
      const phone = await browser.newContext({ viewport: NARROW });
      profiles.push(phone);
      await phone.addInitScript((t) => {
        if (!sessionStorage.getItem("seeded")) {
          localStorage.setItem("eschat.token", t);
          sessionStorage.setItem("seeded", "1");
        }
      }, bobToken);
      const bp = await phone.newPage();
      await bp.goto(base + "/");
      await connected(bp, "bob, on his phone");
      await bp.getByTestId("open-settings").click();
      await bp.getByRole("button", { name: "Delete my account…" }).click();
      await bp.getByTestId("erase-confirm").fill("bob");
      await bp.getByTestId("erase-account").click();
      await until("bob's page is back at the sign-in form, saying why", async () =>
        (await bp.getByTestId("username").isVisible())
        && ((await bp.locator("body").textContent()) ?? "").includes("Your account was deleted."));
      await a.reload();
      await until("alice sees bob's messages erased, their text gone", async () =>
        (await a.getByText("This message was erased").count()) > 0
        && (await a.getByText("I'll bring snacks").count()) === 0);
      log("bob deleted his account from Settings on his phone: his page signed out; alice sees his messages erased");
    } else {
      log("this server has no DELETE /api/me: erasing an account was not exercised");
    }

    // -- load figures: signed in, cold cache, then a reload --------------------------------------------
    const token = aliceToken;
    const fresh = await browser.newContext({ viewport: WIDE });
    profiles.push(fresh);
    await fresh.addInitScript((t) => {
      if (!sessionStorage.getItem("seeded")) {
        localStorage.setItem("eschat.token", t);
        sessionStorage.setItem("seeded", "1");
      }
    }, token);
    const c = await fresh.newPage();
    await c.goto(base + "/");
    await chatItem(c, chatId).waitFor();
    await connected(c, "alice (second browser)");
    const cold = await loadFigures(c, ["eschat:chat-list", "eschat:connected"]);
    out({ metric: "first load (signed in, cold cache)", ...cold });
    await c.reload();
    await chatItem(c, chatId).waitFor();
    const warm = await loadFigures(c, ["eschat:chat-list", "eschat:connected"]);
    out({ metric: "reload (warm cache)", ...warm });
    check(warm.assets.length > 0 && warm.assets.every((r) => r.transferSize === 0),
      `hashed assets come from the cache on reload (${JSON.stringify(warm.assets)})`);
    log("reload: every hashed asset came from the browser cache");
    if (process.env.ESCHAT_EXTRA_SHOTS) {
      await c.emulateMedia({ colorScheme: "dark" });
      await chatItem(c, group.id).click();
      await c.getByTestId("message").first().waitFor();
      await extra(c, "dark");
    }
    out({ done: true });
  } catch (err) {
    // What each page showed when a check failed, beside the screenshots.
    for (const [i, page] of pages.entries()) {
      await page.screenshot({ path: join(shots, `failure-${i}.png`) }).catch(() => {});
    }
    throw err;
  } finally {
    for (const context of profiles) await context.close().catch(() => {});
    await browser.close();
  }
}

main().then(() => process.exit(0), (err) => {
  out({ error: err.stack || String(err) });
  process.exit(1);
});
