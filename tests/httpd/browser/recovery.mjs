// SPDX-License-Identifier: Apache-2.0
// Recovery at the desk in a real browser (Debian's chromium driven by
// playwright-core), against the httpd started by tests/lib/httpd-run
// (browser.sh), with JavaScript turned off: the pages must not need it
// (DESIGN 3.2).
//
// In each language (fr, nl, de, en) a citizen with an active account is
// registered again at the desk (through the API, at a new address); in the
// pages the citizen opens the e-mailed link, types the paper code and is
// told they already have an account (named on the page), chooses the
// e-mail key, sets a new password on a page that asks for no username (the
// account keeps its own), types the mailed code and sees the account
// recovered.  Then the officer searches the person on the desk page
// (/csam/registration) and sees the account, never a code.  axe-core runs
// on every page shown and fails the test on any violation; each step is
// saved as a PNG (recovery-*.png) under $CSAM_BUILDDIR/tests/artifacts/.
//
// The pages' texts are found by role, label and autocomplete, not by
// wording, except the one sentence that must be there: "you already have
// an account" (WORDS.existing, loose on purpose).
import fs from 'node:fs';
import crypto from 'node:crypto';

import {
    env, base, LOCALES, check, failures, nextMail, CODE_RE, nationalNumber,
    register, enrol, screenshot, axe, axeSource, axeChecked, launch,
} from './lib.mjs';

const WORDS = {
    fr: { existing: /(avez|possédez) déjà un compte|compte existe déjà/i },
    nl: { existing: /(hebt|heeft|bezit) (al|reeds) een (account|profiel)|(account|profiel) bestaat al/i },
    de: { existing: /(haben|besitzen) (bereits|schon) ein(en)? (Konto|Benutzerkonto)|Konto (besteht|existiert) (bereits|schon)/i },
    en: { existing: /already ha(ve|s) an account|account already exists/i },
};

// A page whose scripts never run (DevTools' script execution switch, as
// a browser with JavaScript turned off): the flow must work so.  axe-core
// itself needs script (its timers), so the switch is lifted only while it
// looks at the page as it stands.
const noScript = new WeakMap();
async function scriptless(ctx) {
    ctx.setDefaultTimeout(10000);
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });
    noScript.set(page, cdp);
    return page;
}

async function visit(page, lang, step) {
    await screenshot(page, 'recovery', lang, step);
    const cdp = noScript.get(page);
    await cdp.send('Emulation.setScriptExecutionDisabled', { value: false });
    await axe(page, lang, step);
    await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });
}

// Submit the form that holds `field` with its own submit button, and
// wait for the page it leads to (303 and GET: no script involved).
async function submitWith(page, field) {
    const form = page.locator('form', { has: page.locator(field) });
    const wait = page.waitForNavigation();
    await form.locator('button[type="submit"], button:not([type]), input[type="submit"]').first().click();
    return wait;
}

// The citizen's side of the recovery, in the pages.
async function recover(browser, lang, c, letter) {
    const ctx = await browser.newContext({ locale: LOCALES[lang] });
    const page = await scriptless(ctx);
    let resp = await page.goto(`${base}/csam/activate?t=${letter.token}`);
    check(resp.status() === 200, `${lang}: the link opens the activation page`);
    check((await page.getAttribute('html', 'lang')) === lang, `${lang}: in the registration's language`);
    await visit(page, lang, 'code');
    await page.locator('#activation_code').fill(letter.code);
    await submitWith(page, '#activation_code');

    // Whatever page comes first (a page of its own, or the key choice
    // saying it), before the credentials the citizen is told that the
    // account exists, and which one.
    const said = [];
    const email = page.locator('input[name="key_type"][value="email"]');
    for (let i = 0; i < 3 && await email.count() === 0; i++) {
        said.push(await page.locator('main').innerText());
        await visit(page, lang, `existing-${i}`);
        const next = page.locator('main form button[type="submit"]');
        if (await next.count() !== 1) break;
        const wait = page.waitForNavigation();
        await next.click();
        await wait;
    }
    check(await email.count() === 1, `${lang}: the recovery leads to the key choice`);
    said.push(await page.locator('main').innerText());
    await visit(page, lang, 'key');
    await email.check();
    await page.locator('input[name="accept_terms"]').check();
    await submitWith(page, 'input[name="accept_terms"]');

    const pw = page.locator('input[autocomplete="new-password"]');
    check(await pw.count() === 2, `${lang}: the credentials ask for a new password, twice`);
    said.push(await page.locator('main').innerText());
    const before = said.join('\n');
    check(WORDS[lang].existing.test(before), `${lang}: the citizen is told they already have an account`);
    const shownName = before.includes(c.username)
        || await page.locator(`input[value="${c.username}"]`).count() > 0;
    check(shownName, `${lang}: the page names the account's username`);
    const editable = page.locator('input[name="username"]:not([type="hidden"]):not([readonly]):not([disabled])');
    check(await editable.count() === 0, `${lang}: no username to choose: the account keeps its own`);
    await visit(page, lang, 'credentials');
    // The walk activated this account seconds ago: its code is younger
    // than the resend cooldown browser.sh sets (3 s), which holds for a
    // recovery's code as for any other.
    await new Promise((resolve) => setTimeout(resolve, 3100));
    const password = `Retrouve-${crypto.randomBytes(6).toString('hex')}-Vert`;
    await pw.nth(0).fill(password);
    await pw.nth(1).fill(password);
    await submitWith(page, 'input[autocomplete="new-password"]');

    const otp = page.locator('input[autocomplete="one-time-code"]');
    check(await otp.count() === 1, `${lang}: the credentials lead to the mailed code`);
    await visit(page, lang, 'confirm');
    const code = (await nextMail(c.newEmail, CODE_RE, 'security code'))[0];
    await otp.fill(code);
    await submitWith(page, 'input[autocomplete="one-time-code"]');
    resp = await page.reload();
    check(resp.status() === 200 && await otp.count() === 0, `${lang}: the code ends the recovery`);
    check((await page.locator('main').innerText()).includes(c.username), `${lang}: the last page names the username kept`);
    await visit(page, lang, 'done');
    await ctx.close();
    return password;
}

// The officer finds the person on the desk page: the account, no code.
async function helpdesk(browser, lang, c, letter) {
    const ctx = await browser.newContext({
        locale: LOCALES[lang], httpCredentials: { username: 'officer', password: 'officer' },
    });
    const page = await scriptless(ctx);
    const resp = await page.goto(`${base}/csam/registration`);
    check(resp.status() === 200, `${lang}: the desk page`);
    const search = page.locator('form[role="search"], search form, '
        + 'form:not(:has([name="first_name"])):has(input[name*="national" i]), '
        + 'form:not(:has([name="first_name"])):has(input[type="search"])').first();
    if (!check(await search.count() === 1, `${lang}: the desk page has a search by national number`)) {
        await ctx.close();
        return;
    }
    await search.locator('input:not([type="hidden"])').first().fill(c.nrn);
    const wait = page.waitForNavigation();
    await search.locator('button[type="submit"], button:not([type]), input[type="submit"]').first().click();
    await wait;
    const text = await page.locator('main').innerText();
    check(text.includes(c.username), `${lang}: the search finds the person's account`);
    const html = await page.content();
    check(!html.includes(letter.code) && !html.includes(letter.token), `${lang}: and shows no code or link`);
    await visit(page, lang, 'helpdesk');
    await ctx.close();
}

async function main() {
    const browser = await launch();
    const run = crypto.randomBytes(4).toString('hex');
    const langs = ['fr', 'nl', 'de', 'en'];
    try {
        // The switch works: a page's script does not run, and axe still
        // sees a field without a label.
        const ctx = await browser.newContext();
        const probe = await scriptless(ctx);
        await probe.goto('data:text/html,<!DOCTYPE html><html lang="en"><title>t</title><main><h1>t</h1>'
            + '<input type="text"><script>document.querySelector("h1").textContent = "script"</script></main></html>');
        check((await probe.locator('h1').innerText()) === 't', 'no page script runs in the walk');
        await noScript.get(probe).send('Emulation.setScriptExecutionDisabled', { value: false });
        await probe.evaluate(axeSource);
        // eslint-disable-next-line no-undef
        const seen = await probe.evaluate(async () => (await axe.run(document)).violations.map((v) => v.id));
        check(seen.includes('label'), 'axe reports a field without a label');
        await ctx.close();

        for (const [i, lang] of langs.entries()) {
            const c = {
                nrn: nationalNumber(86, 3, 10 + i, 300 + i), birth: `1986-03-${10 + i}`,
                first: `Retour${lang}`, last: `Citoyen-${lang}`, doc: `EP${run}R${i}`,
                email: `recover-${lang}-${run}@example.be`, lang,
                username: `recover.${lang}.${run}`, password: `Ancien-${run}-Mot-de-passe`,
            };
            await enrol(c);
            c.newEmail = `recover-${lang}-${run}.new@example.be`;
            const letter = await register({ ...c, email: c.newEmail });
            // Each part reports on its own: a recovery stuck on one page
            // still lets the desk's search be checked.
            for (const [what, part] of [['recovery', recover], ['helpdesk search', helpdesk]]) {
                try {
                    await part(browser, lang, c, letter);
                } catch (e) {
                    console.log(`# ${e.stack}`);
                    check(false, `${lang}: the ${what} walk ends (${e.message.split('\n')[0]})`);
                }
            }
        }
    } finally {
        await browser.close();
    }
    const log = fs.readFileSync(env('CSAM_TEST_HTTPD_ERROR_LOG'), 'utf8').split('\n');
    const warned = log.filter((l) => /CSAM005\d\d/.test(l) && !/:info\]/.test(l));
    for (const l of warned) console.log(`# ${l}`);
    check(warned.length === 0, 'the pages logged no warning');
    for (const lang of langs) {
        const n = [...axeChecked].filter((k) => k.startsWith(`${lang}:`)).length;
        check(n >= 6, `${lang}: axe ran on ${n} pages`);
    }
}

main().then(() => {
    if (failures.length) {
        console.log(`# ${failures.length} check(s) failed`);
        process.exit(1);
    }
    console.log('# all checks passed');
}, (err) => {
    console.error(err);
    process.exit(1);
});
