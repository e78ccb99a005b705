// SPDX-License-Identifier: Apache-2.0
// The online procedure's pages (/csam/online, then the activation pages it
// hands over to), in a real browser (Debian's chromium driven by
// playwright-core), against the httpd started by tests/lib/httpd-run with
// mod_auth_openidc in front of /csam/online, as with itsme: the tests'
// OpenID provider (tests/lib/oidc_provider.py, started by browser.sh)
// approves at once the person the walk chose last, and the browser follows
// its redirects as a citizen's would.
//
// In each language (fr, nl, de, en, the browser's locale):
//   a new person with the e-mail key: start page, key choice, username,
//     password and personal address (fr: first without the address, the
//     error next to its field), the code from the mailbox, done;
//   a new person with the mobile-app key: the same, then the address's own
//     code (CSAM_STEP_EMAIL, "confirm your e-mail address"), the app's
//     page (the code computed by oathtool from the secret shown), done;
//   a person who already has an account (registered and activated at the
//     desk, through the API): the key choice says so and names the
//     username, the recovery page (the username kept; a new password, or
//     none to keep it), the key's code, done;
//   a person the provider vouches for without a national number: the
//     refusal page (403), nothing opened.
// Once more in French with JavaScript disabled in the browser: the whole
// procedure works without it.  axe-core runs on every page shown and fails
// the test on any violation; each step is saved as a PNG (online-*.png)
// under $CSAM_BUILDDIR/tests/artifacts/.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

import {
    env, base, artifacts, LOCALES, check, failures, nextMail, skipMail, CODE_RE,
    totp, nationalNumber, enrol, screenshot, axe, axeChecked, type, submit, launch,
} from './lib.mjs';

const oidc = env('CSAM_TEST_OIDC_URL');
const srcdir = env('CSAM_SRCDIR');

// The texts each language's pages must show, from the module's own
// messages (what is checked is that the right page comes, in the
// browser's language).
function messages(lang) {
    const file = path.join(srcdir, 'conf', 'templates', 'pages', lang, 'messages.txt');
    const out = {};
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        const m = line.match(/^([a-z0-9_.]+) = (.*)$/);
        if (m) out[m[1]] = m[2];
    }
    return out;
}
const MSG = Object.fromEntries(['fr', 'nl', 'de', 'en'].map((l) => [l, messages(l)]));

function pathOf(page) {
    return new URL(page.url()).pathname;
}

async function h1(page) {
    return (await page.locator('h1').first().innerText().catch(() => '')).trim();
}

async function visit(page, lang, step, opts) {
    await screenshot(page, 'online', lang, step);
    // Without JavaScript in the page, axe cannot run there; the same
    // pages are checked with it in the other walks.
    if (!opts.noScript) await axe(page, lang, step);
}

// The person the provider approves next (its /authorize has no page).
async function choose(p) {
    const claims = { login_hint: p.hint, given_name: p.first, family_name: p.last };
    if (p.nrn) claims.national_number = p.nrn;
    const r = await fetch(`${oidc}/test/person`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(claims),
    });
    if (r.status !== 200) throw new Error(`provider: /test/person: ${r.status} ${await r.text()}`);
}

// A new browser identified by the provider as p, on the start page.
async function open(browser, lang, p, kind, opts) {
    const m = MSG[lang];
    await choose(p);
    const ctx = await browser.newContext({ locale: LOCALES[lang], javaScriptEnabled: !opts.noScript });
    const page = await ctx.newPage();
    const resp = await page.goto(`${base}/csam/online`);
    check(resp.status() === 200 && pathOf(page) === '/csam/online' && await h1(page) === m['online.heading'],
          `${lang}/${kind}: /csam/online, through the provider's redirects, shows the start page in the browser's language`);
    check((await page.getAttribute('html', 'lang')) === lang, `${lang}/${kind}: <html lang="${lang}">`);
    const h = resp.headers();
    check(/default-src 'none'/.test(h['content-security-policy'] || '') && await page.locator('script').count() === 0,
          `${lang}/${kind}: the start page has no script, and its Content-Security-Policy holds`);
    await visit(page, lang, `${kind}-start`, opts);
    return { ctx, page };
}

// The start page's button, then the key choice; `keyId` the choice's id.
async function chooseKey(page, lang, kind, keyId, opts) {
    const m = MSG[lang];
    await submit(page, m['button.continue']);
    check(pathOf(page) === '/csam/activate' && await h1(page) === m['activate_key.heading']
          && await page.locator('#key_type').count() === 1 && await page.locator('#key_type-totp').count() === 1,
          `${lang}/${kind}: "Continue" leads to the key choice (e-mail and mobile app)`);
    check(await page.locator('#activation_code').count() === 0, `${lang}/${kind}: no paper code online`);
    if (opts.existing) {
        const notice = (await page.locator('.notice').innerText().catch(() => '')).trim();
        check(notice === m['notice.recovery_online'].replace('{{username}}', opts.existing),
              `${lang}/${kind}: the key choice says the person already has an account, and names its username`);
    }
    await visit(page, lang, `${kind}-key`, opts);
    await page.locator(`label[for="${keyId}"]`).click();
    await page.locator('label[for="accept_terms"]').click();
    await submit(page, m['button.activate_key']);
}

// The code in the mail to `to` from now on.
async function codeFor(to, what) {
    return (await nextMail(to, CODE_RE, what))[0];
}

async function done(page, lang, kind, username, key, opts) {
    const m = MSG[lang];
    check(await h1(page) === m['activate_done.heading']
          && (await page.locator('.success').innerText().catch(() => '')).trim() === m[`done.${key}`],
          `${lang}/${kind}: "${m[`done.${key}`]}"`);
    check((await page.locator('main').innerText()).includes(username), `${lang}/${kind}: the done page names the username`);
    await visit(page, lang, `${kind}-done`, opts);
}

// A new person, the e-mail key: its code confirms the address too.
async function newEmail(browser, lang, p, opts = {}) {
    const m = MSG[lang];
    const kind = opts.noScript ? 'noscript' : 'new-email';
    const { ctx, page } = await open(browser, lang, p, kind, opts);
    if (opts.errors) {
        // The same identified browser (its cookies), a form without (or
        // with a wrong) CSRF token: refused, nothing opened.
        for (const form of [{}, { csrf: 'A'.repeat(43) }]) {
            const r = await ctx.request.post(`${base}/csam/online`, { form, maxRedirects: 0 });
            check(r.status() === 403, `${lang}/${kind}: the start form ${form.csrf ? 'with a wrong' : 'without'} CSRF token is refused (403)`);
        }
    }
    await chooseKey(page, lang, kind, 'key_type', opts);
    check(await h1(page) === m['activate_credentials.heading'] && await page.locator('#email').count() === 1
          && (await page.getAttribute('#email', 'autocomplete')) === 'email',
          `${lang}/${kind}: the credentials page asks for the personal e-mail address (autocomplete="email")`);
    await visit(page, lang, `${kind}-credentials`, opts);
    if (opts.errors) {
        await type(page, '#username', p.username);
        await type(page, '#password', p.password);
        await type(page, '#password_repeat', p.password);
        await submit(page, m['button.next']);
        check(await page.locator('#email-error').isVisible().catch(() => false)
              && (await page.locator('#email-error').innerText()).includes(m['error.required'])
              && (await page.getAttribute('#email', 'aria-invalid')) === 'true'
              && await page.locator('.error-summary a[href="#email"]').count() === 1,
              `${lang}/${kind}: without the address: the error next to its field, and in the summary`);
        check((await page.inputValue('#username')) === p.username && (await page.inputValue('#password')) === '',
              `${lang}/${kind}: the username is kept, the password is not`);
        await visit(page, lang, `${kind}-credentials-errors`, opts);
    }
    skipMail();
    await type(page, '#username', p.username);
    await type(page, '#email', p.email);
    await type(page, '#password', p.password);
    await type(page, '#password_repeat', p.password);
    await submit(page, m['button.next']);
    check(await h1(page) === m['activate_confirm.heading'] && await page.locator('#code').count() === 1,
          `${lang}/${kind}: the credentials lead to the e-mail key's code`);
    await visit(page, lang, `${kind}-confirm`, opts);
    await type(page, '#code', await codeFor(p.email, 'e-mail key'));
    await submit(page, m['button.continue']);
    await done(page, lang, kind, p.username, 'email', opts);
    await ctx.close();
}

// A new person, the mobile-app key: the address's own code first.
async function newTotp(browser, lang, p, opts = {}) {
    const m = MSG[lang];
    const kind = 'new-totp';
    const { ctx, page } = await open(browser, lang, p, kind, opts);
    await chooseKey(page, lang, kind, 'key_type-totp', opts);
    check(await page.locator('#email').count() === 1, `${lang}/${kind}: the credentials page asks for the address`);
    await visit(page, lang, `${kind}-credentials`, opts);
    skipMail();
    await type(page, '#username', p.username);
    await type(page, '#email', p.email);
    await type(page, '#password', p.password);
    await type(page, '#password_repeat', p.password);
    await submit(page, m['button.next']);
    check(await h1(page) === m['activate_email.heading'] && await page.locator('#code').count() === 1
          && await page.locator('#totp-secret').count() === 0,
          `${lang}/${kind}: with the app key, the address is confirmed first: "${m['activate_email.heading']}"`);
    check((await page.locator('.notice').innerText().catch(() => '')).trim() === m['notice.email_code_sent'],
          `${lang}/${kind}: the page says a code was sent to the address`);
    await visit(page, lang, `${kind}-email`, opts);
    await type(page, '#code', await codeFor(p.email, 'address confirmation'));
    await submit(page, m['button.continue']);
    const shown = (await page.locator('#totp-secret').innerText().catch(() => '')).trim();
    check(/^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/.test(shown) && await page.locator('#code').count() === 1,
          `${lang}/${kind}: the address confirmed, the app's page shows the secret`);
    await visit(page, lang, `${kind}-totp`, opts);
    await type(page, '#code', totp(shown.replace(/ /g, '')));
    await submit(page, m['button.continue']);
    await done(page, lang, kind, p.username, 'totp', opts);
    await ctx.close();
}

// A person with an account from the desk: the recovery pages.
async function existing(browser, lang, p, key, keep, opts = {}) {
    const m = MSG[lang];
    const kind = `existing-${key}`;
    const { ctx, page } = await open(browser, lang, p, kind, opts);
    await chooseKey(page, lang, kind, key === 'email' ? 'key_type' : 'key_type-totp', { ...opts, existing: p.username });
    check(await h1(page) === m['activate_recovery.heading']
          && (await page.inputValue('#username')) === p.username
          && await page.locator('#username[readonly]').count() === 1 && await page.locator('#email').count() === 0,
          `${lang}/${kind}: the recovery page shows the username, read-only, and asks no address`);
    await visit(page, lang, `${kind}-recovery`, opts);
    skipMail();
    if (!keep) {
        const fresh = `${p.password}-Neuf`;
        await type(page, '#password', fresh);
        await type(page, '#password_repeat', fresh);
    }
    await submit(page, m['button.next']);
    if (key === 'email') {
        check(await h1(page) === m['activate_confirm.heading'] && await page.locator('#code').count() === 1,
              `${lang}/${kind}: ${keep ? 'the password kept' : 'a new password'}: the e-mail key's code`);
        await visit(page, lang, `${kind}-confirm`, opts);
        await type(page, '#code', await codeFor(p.email, 'e-mail key'));
    } else {
        const shown = (await page.locator('#totp-secret').innerText().catch(() => '')).trim();
        check(/^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/.test(shown) && await page.locator('#code').count() === 1,
              `${lang}/${kind}: ${keep ? 'the password kept' : 'a new password'}: the app's page (no address to confirm)`);
        await visit(page, lang, `${kind}-totp`, opts);
        await type(page, '#code', totp(shown.replace(/ /g, '')));
    }
    await submit(page, m['button.continue']);
    await done(page, lang, kind, p.username, key, opts);
    await ctx.close();
}

// The provider vouches for someone, without a national number.
async function noNumber(browser, lang, p) {
    const m = MSG[lang];
    const kind = 'no-number';
    const { ctx, page } = await open(browser, lang, p, kind, {});
    const wait = page.waitForNavigation();
    await page.getByRole('button', { name: m['button.continue'], exact: true }).click();
    const resp = await wait;
    check(resp.status() === 403 && await h1(page) === m['message.online_identity.heading'],
          `${lang}/${kind}: no national number: 403 and "${m['message.online_identity.heading']}"`);
    await visit(page, lang, `${kind}-refused`, {});
    await ctx.close();
}

async function main() {
    fs.mkdirSync(artifacts, { recursive: true });
    for (const f of fs.readdirSync(artifacts)) {
        if (/^online-.*\.png$/.test(f)) fs.unlinkSync(path.join(artifacts, f));
    }
    // Letters only: no run of digits that a code's pattern would match.
    const run = [...crypto.randomBytes(6)].map((b) => String.fromCharCode(97 + (b % 26))).join('');
    const seq = crypto.randomInt(100, 900);
    const langs = ['fr', 'nl', 'de', 'en'];
    const person = (lang, i, kind, k) => ({
        lang, hint: `${kind}-${lang}-${run}`,
        nrn: nationalNumber(80 + k, 1 + i, 10 + k, seq + i),
        birth: `19${80 + k}-0${1 + i}-${10 + k}`,
        first: `Élise-${lang}`, last: `Van den Broeck-${kind}`, doc: `ON${run}${k}${i}`.toUpperCase(),
        email: `online-${kind}-${lang}-${run}@example.be`, username: `online.${kind}.${lang}.${run}`,
        password: `Tournesol-${crypto.randomBytes(6).toString('hex')}-Vert`,
    });
    // Recovery: the key chosen and whether the password stays.
    const recovery = { fr: ['email', false], nl: ['totp', true], de: ['email', true], en: ['totp', false] };

    const browser = await launch();
    try {
        for (const [i, lang] of langs.entries()) {
            await newEmail(browser, lang, person(lang, i, 'email', 0), { errors: lang === 'fr' });
            await newTotp(browser, lang, person(lang, i, 'totp', 1));
            const old = person(lang, i, 'desk', 2);
            await enrol(old);
            // browser.sh sets CSAMResendCooldown 3: the account's next
            // code (the recovery's) that much after its activation's.
            await new Promise((r) => setTimeout(r, 3100));
            await existing(browser, lang, old, ...recovery[lang]);
            await noNumber(browser, lang, { ...person(lang, i, 'nonumber', 3), nrn: null });
        }
        await newEmail(browser, 'fr', person('fr', 4, 'noscript', 4), { noScript: true });
    } finally {
        await browser.close();
    }
    const log = fs.readFileSync(env('CSAM_TEST_HTTPD_ERROR_LOG'), 'utf8').split('\n');
    const warned = log.filter((l) => /CSAM0\d{4}/.test(l) && /:(warn|error|crit|alert|emerg)\]/.test(l));
    for (const l of warned) console.log(`# ${l}`);
    check(warned.length === 0, 'the pages logged no warning');
    for (const lang of langs) {
        const n = [...axeChecked].filter((k) => k.startsWith(`${lang}:`)).length;
        check(n >= 18, `${lang}: axe ran on ${n} pages`);
    }
    console.log(`# axe checks: ${axeChecked.size}`);
}

main().then(() => {
    console.log(`# screenshots in ${artifacts}`);
    if (failures.length) {
        console.log(`# ${failures.length} check(s) failed`);
        process.exit(1);
    }
    console.log('# all checks passed');
}, (err) => {
    console.error(err);
    if (failures.length) console.log(`# ${failures.length} check(s) failed before that`);
    process.exit(1);
});
