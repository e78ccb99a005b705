// SPDX-License-Identifier: Apache-2.0
// Login, self-management and logout through the pages, in a real browser
// (Debian's chromium driven by playwright-core), against the httpd started
// by tests/lib/httpd-run with /app protected by AuthType CSAM (browser.sh).
//
// Citizens are registered and activated through the JSON API (the
// activation pages have their own walk, walk.mjs).  Then, in French, the
// whole walk: the protected page redirects to the login page; an unknown
// username and a wrong password get the same message; the password leads
// straight to the code (one key); a wrong code shows the attempts left;
// the mailed code reaches the protected page; the keys page lists the key,
// refuses to deactivate the last one, refuses an incomplete key request,
// changes the password (errors next to their fields); logout ends the
// session and the protected page redirects to login again; the old
// password is refused, the new one works.  In nl, de and en the same
// pages are walked more briefly.  axe-core runs on every page shown and
// fails the test on any violation; each step is saved as a PNG
// (login-*.png) under $CSAM_BUILDDIR/tests/artifacts/.  The return
// parameter is checked against open redirects on the way.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

import {
    env, base, artifacts, LOCALES, check, failures, nextMail, skipMail, CODE_RE,
    nationalNumber, enrol, screenshot, axe, axeChecked, type, submit, launch, tabTo,
} from './lib.mjs';

const WORDS = {
    fr: {
        next: 'Suivant', cont: 'Continuer', logout: 'Se déconnecter',
        activate: 'Activez clé numérique', password: 'Changer le mot de passe',
        keyName: 'Code de sécurité par e-mail', active: 'Active',
        attempts: /Il vous reste 4 tentatives/, lastKey: /dernière clé active/,
        loggedOut: 'Vous êtes déconnecté.', changed: /Votre mot de passe a été modifié/,
        resend: 'Envoyer un nouveau code', resendWait: /Attendez \d+ secondes/,
    },
    nl: {
        next: 'Volgende', cont: 'Doorgaan', logout: 'Afmelden',
        keyName: 'Beveiligingscode via e-mail', active: 'Actief',
        attempts: /nog 4 pogingen/, loggedOut: 'U bent afgemeld.',
    },
    de: {
        next: 'Weiter', cont: 'Fortfahren', logout: 'Abmelden',
        keyName: 'Sicherheitscode per E-Mail', active: 'Aktiv',
        attempts: /noch 4 Versuche/, loggedOut: 'Sie sind abgemeldet.',
    },
    en: {
        next: 'Next', cont: 'Continue', logout: 'Log out',
        keyName: 'Security code by e-mail', active: 'Active',
        attempts: /4 attempts left/, loggedOut: 'You are logged out.',
    },
};

// mod_dir is not loaded: the page is named.
const APP = '/app/index.html';
const APP_TEXT = 'protected page for the browser test';

async function visit(page, lang, step) {
    await screenshot(page, 'login', lang, step);
    await axe(page, lang, step);
}

// The browser may keep the protected page in its cache (it is a static
// file with a Last-Modified date): after logout the test asks the server.
let freshCount = 0;
function fresh() {
    freshCount += 1;
    return `?after-logout=${freshCount}`;
}

function pathOf(page) {
    return new URL(page.url()).pathname;
}

async function sessionCookie(ctx) {
    return (await ctx.cookies(base)).find((c) => c.name === 'csam_session');
}

// Username and password, then (one key) the code page.
async function password(page, w, username, pw, keyboard) {
    await type(page, '#username', username, keyboard);
    await type(page, '#password', pw, keyboard);
    await submit(page, w.next, keyboard);
}

// The return parameter: only a local path survives, in the page and in
// the redirect; anything else becomes the keys page.
async function returnPaths(browser) {
    const ctx = await browser.newContext({ locale: LOCALES.fr });
    const page = await ctx.newPage();
    const bad = [
        '//evil.example/x', 'https://evil.example/', '/\\evil.example', '\\\\evil.example',
        'javascript:alert(1)', '/app/\r\nSet-Cookie: x=y', '/app/\tx', ' /app/', 'app/',
        '/app/?q=<b>', `/${'a'.repeat(2000)}`, '',
    ];
    for (const value of bad) {
        const resp = await page.goto(`${base}/csam/login?return=${encodeURIComponent(value)}`);
        check(resp.status() === 200 && (await page.inputValue('input[name="return"]')) === '/csam/keys',
              `return ${JSON.stringify(value.slice(0, 40))} is replaced by /csam/keys`);
    }
    const good = "/app/page?a='x'&b=1";
    await page.goto(`${base}/csam/login?return=${encodeURIComponent(good)}`);
    check((await page.inputValue('input[name="return"]')) === good, 'a local return path is kept as it is');
    check((await page.content()).includes('&amp;b=1'), 'and shown HTML-escaped');
    // The keys page without a session: to the login page, coming back.
    const r = await ctx.request.get(`${base}/csam/keys`, { maxRedirects: 0 });
    const to = new URL(r.headers().location || '/', base);
    check(r.status() === 303 && to.origin === base && to.pathname === '/csam/login'
          && to.searchParams.get('return') === '/csam/keys',
          'the keys page without a session answers 303 to /csam/login?return=/csam/keys');
    await ctx.close();
}

// The whole walk, in French.
async function full(browser, c) {
    const lang = 'fr';
    const w = WORDS[lang];
    const ctx = await browser.newContext({ locale: LOCALES[lang] });
    const page = await ctx.newPage();

    let resp = await page.goto(`${base}${APP}`);
    check(pathOf(page) === '/csam/login', `${lang}: the protected page redirects a browser to the login page`);
    check(resp.status() === 200 && (await page.getAttribute('html', 'lang')) === lang, `${lang}: login page in the browser's language`);
    check((await page.inputValue('input[name="return"]').catch(() => '')) === APP, `${lang}: the login page carries the return path`);
    check(/no-store/.test(resp.headers()['cache-control'] || '')
          && /default-src 'none'/.test(resp.headers()['content-security-policy'] || ''),
          `${lang}: login page: no-store and Content-Security-Policy`);
    await visit(page, lang, 'login');

    // Forms without their token are refused.
    let r = await ctx.request.post(`${base}/csam/login`, {
        form: { step: 'password', username: c.username, password: c.password }, maxRedirects: 0,
    });
    check(r.status() === 403, `${lang}: a login form without CSRF token is refused (403)`);

    // Unknown username and wrong password: one message.
    await password(page, w, `nobody.${c.run}`, c.password);
    const unknown = (await page.locator('#password-error').innerText().catch(() => '')).trim();
    await visit(page, lang, 'login-unknown');
    await password(page, w, c.username, `${c.password}-wrong`);
    const wrong = (await page.locator('#password-error').innerText().catch(() => '')).trim();
    check(wrong !== '' && wrong === unknown, `${lang}: unknown username and wrong password show the same message`);
    check((await page.inputValue('#username')) === c.username && (await page.inputValue('#password')) === '',
          `${lang}: the username is kept, the password is not`);
    check(await page.locator('.error-summary').isVisible(), `${lang}: an error summary heads the page`);
    await visit(page, lang, 'login-wrong-password');

    // One key: the password leads straight to its code.
    skipMail();
    await password(page, w, c.username, c.password);
    check(await page.locator('#code').count() === 1, `${lang}: the password leads to the code (one key, no choice)`);
    check(await page.locator('.notice[role="status"]').isVisible(), `${lang}: the page says a code was sent`);
    await visit(page, lang, 'login-code');
    const code = (await nextMail(c.email, CODE_RE, 'login code'))[0];
    // A new code so soon is refused, with the wait; the first stays good.
    await submit(page, w.resend);
    check(w.resendWait.test(await page.locator('.error-summary').innerText().catch(() => '')),
          `${lang}: asking for a new code at once says how long to wait`);
    await visit(page, lang, 'login-code-resend');
    const bad = code === '000000' ? '111111' : '000000';
    await type(page, '#code', bad);
    await submit(page, w.cont);
    check(await page.locator('#code-error').isVisible().catch(() => false)
          && w.attempts.test(await page.locator('#code-error').innerText()),
          `${lang}: a wrong code shows the attempts left next to the field`);
    check((await page.getAttribute('#code', 'aria-describedby')) === 'code-error',
          `${lang}: the code field is described by its error`);
    await visit(page, lang, 'login-code-wrong');
    await type(page, '#code', code);
    await submit(page, w.cont);
    check(pathOf(page) === APP, `${lang}: the code leads back to the protected page`);
    check((await page.content()).includes(APP_TEXT), `${lang}: and the protected page is served`);
    const cookie = await sessionCookie(ctx);
    check(cookie && cookie.httpOnly && cookie.sameSite === 'Lax' && cookie.path === '/',
          `${lang}: the session cookie is HttpOnly, SameSite=Lax, Path=/`);
    await screenshot(page, 'login', lang, 'protected');

    // The keys page.
    resp = await page.goto(`${base}/csam/keys`);
    check(resp.status() === 200 && pathOf(page) === '/csam/keys', `${lang}: the keys page opens with the session`);
    const row = page.locator('table.keys tbody tr').first();
    check((await row.innerText().catch(() => '')).includes(w.keyName)
          && (await row.innerText().catch(() => '')).includes(w.active)
          && /\d{4}-\d\d-\d\d/.test(await row.innerText().catch(() => '')),
          `${lang}: the keys page lists the e-mail key, active, with its activation date`);
    check((await page.locator('main').innerText()).includes(c.username), `${lang}: the keys page names the account`);
    // This server has no SMS gateway: the SMS key is not offered.
    check(await page.locator('#key_type').isDisabled() && await page.locator('#key_type-totp').isEnabled()
          && await page.locator('#key_type-sms').count() === 0,
          `${lang}: the active e-mail key cannot be added again, the app can, SMS (no gateway) is not offered`);
    await visit(page, lang, 'keys');

    r = await ctx.request.post(`${base}/csam/keys`, { form: { step: 'deactivate', key_type: 'email' }, maxRedirects: 0 });
    check(r.status() === 403, `${lang}: a keys form without CSRF token is refused (403)`);

    const wait = page.waitForNavigation();
    await row.getByRole('button').click();
    await wait;
    check(w.lastKey.test(await page.locator('.error-summary').innerText().catch(() => '')),
          `${lang}: the last active key cannot be deactivated, and the page says why`);
    check((await page.locator('table.keys tbody tr').first().innerText()).includes(w.active), `${lang}: the key is still active`);
    await visit(page, lang, 'keys-last-key');

    await submit(page, w.activate);
    check(await page.locator('#key_type-error').isVisible().catch(() => false)
          && await page.locator('#accept_terms-error').isVisible().catch(() => false),
          `${lang}: no key and no terms: both errors next to their fields`);
    await visit(page, lang, 'keys-add-errors');

    // Changing the password: errors next to their fields, then done.
    const newPassword = `Zonnebloem-${crypto.randomBytes(5).toString('hex')}-Geel`;
    await type(page, '#current_password', `${c.password}-wrong`);
    await type(page, '#new_password', newPassword);
    await type(page, '#new_password_repeat', newPassword);
    await submit(page, w.password);
    check(await page.locator('#current_password-error').isVisible().catch(() => false),
          `${lang}: a wrong current password is shown next to its field`);
    await visit(page, lang, 'keys-password-wrong');
    await type(page, '#current_password', c.password);
    await type(page, '#new_password', newPassword);
    await type(page, '#new_password_repeat', `${newPassword}x`);
    await submit(page, w.password);
    check(await page.locator('#new_password_repeat-error').isVisible().catch(() => false),
          `${lang}: a different repetition is shown next to its field`);
    await type(page, '#current_password', c.password);
    await type(page, '#new_password', newPassword);
    await type(page, '#new_password_repeat', newPassword);
    await submit(page, w.password);
    check(w.changed.test(await page.locator('.notice[role="status"]').innerText().catch(() => '')),
          `${lang}: the password is changed`);
    check(pathOf(page) === '/csam/keys', `${lang}: and this session goes on`);
    await visit(page, lang, 'keys-password-changed');

    // Logout, from the keys page.
    await submit(page, w.logout);
    check(pathOf(page) === '/csam/login', `${lang}: logout leads to the login page`);
    check((await page.locator('.notice[role="status"]').innerText().catch(() => '')).trim() === w.loggedOut,
          `${lang}: which says so`);
    check(!(await sessionCookie(ctx)), `${lang}: the session cookie is gone`);
    await visit(page, lang, 'logged-out');
    await page.goto(`${base}${APP}${fresh()}`);
    check(pathOf(page) === '/csam/login', `${lang}: after logout the protected page redirects to login again`);
    resp = await page.goto(`${base}/csam/logout`);
    check(resp.status() === 200 && await page.getByRole('button', { name: w.logout, exact: true }).count() === 1,
          `${lang}: the logout page shows a button`);
    await visit(page, lang, 'logout-page');

    // The old password is refused, the new one works; a tampered return
    // field still lands on a local page.  (browser.sh sets a short
    // CSAMResendCooldown, so this second code goes out at once.)
    await page.waitForTimeout(3000);
    await page.goto(`${base}/csam/login`);
    await password(page, w, c.username, c.password);
    check(await page.locator('#password-error').isVisible().catch(() => false), `${lang}: the old password is refused`);
    skipMail();
    await password(page, w, c.username, newPassword);
    check(await page.locator('#code').count() === 1, `${lang}: the new password is accepted`);
    const code2 = (await nextMail(c.email, CODE_RE, 'login code'))[0];
    await page.locator('input[name="return"]').first().evaluate((el) => { el.value = '//evil.example/'; });
    await type(page, '#code', code2);
    await submit(page, w.cont);
    check(page.url() === `${base}/csam/keys`, `${lang}: a tampered return path lands on the keys page, not elsewhere`);
    await ctx.close();
}

// The same pages in another language, briefly; in English by keyboard
// alone (Tab, typing, Enter), the focus visible on every control used.
async function brief(browser, lang, c) {
    const w = WORDS[lang];
    const kb = lang === 'en';
    const ctx = await browser.newContext({ locale: LOCALES[lang] });
    const page = await ctx.newPage();
    const focus = async (selector) => {
        if (kb) check(await tabTo(page, selector), `${lang}: keyboard focus is visible on ${selector}`);
    };
    await page.goto(`${base}${APP}`);
    check(pathOf(page) === '/csam/login' && (await page.getAttribute('html', 'lang')) === lang,
          `${lang}: the protected page redirects to the login page, in ${lang}`);
    await visit(page, lang, 'login');
    if (kb) {
        await page.keyboard.press('Tab');
        check(await page.locator('.skip-link').evaluate((el) => el === document.activeElement),
              `${lang}: the skip link comes first`);
        await focus('#username');
    }
    await password(page, w, c.username, `${c.password}-wrong`, kb);
    await visit(page, lang, 'login-wrong-password');
    skipMail();
    await focus('#password');
    await password(page, w, c.username, c.password, kb);
    await visit(page, lang, 'login-code');
    const code = (await nextMail(c.email, CODE_RE, 'login code'))[0];
    const bad = code === '000000' ? '111111' : '000000';
    await type(page, '#code', bad, kb);
    await submit(page, w.cont, kb);
    check(w.attempts.test(await page.locator('#code-error').innerText().catch(() => '')),
          `${lang}: a wrong code shows the attempts left`);
    await visit(page, lang, 'login-code-wrong');
    await focus('#code');
    await type(page, '#code', code, kb);
    await submit(page, w.cont, kb);
    check(pathOf(page) === APP, `${lang}: the code leads to the protected page`);
    await page.goto(`${base}/csam/keys`);
    check((await page.locator('table.keys').innerText().catch(() => '')).includes(w.keyName),
          `${lang}: the keys page lists the key`);
    await visit(page, lang, 'keys');
    await page.goto(`${base}/csam/logout`);
    await visit(page, lang, 'logout-page');
    await focus(`button:text-is("${w.logout}")`);
    await submit(page, w.logout, kb);
    check((await page.locator('.notice[role="status"]').innerText().catch(() => '')).trim() === w.loggedOut,
          `${lang}: logout says so`);
    await visit(page, lang, 'logged-out');
    await page.goto(`${base}${APP}${fresh()}`);
    check(pathOf(page) === '/csam/login', `${lang}: after logout the protected page redirects to login`);
    await ctx.close();
}

async function main() {
    fs.mkdirSync(artifacts, { recursive: true });
    for (const f of fs.readdirSync(artifacts)) {
        if (/^login-.*\.png$/.test(f)) fs.unlinkSync(path.join(artifacts, f));
    }
    // The protected application: a static page under /app (browser.sh
    // protects /app with AuthType CSAM).
    const app = path.join(env('CSAM_TEST_HTTPD_CONF_DIR'), 'htdocs', 'app');
    fs.mkdirSync(app, { recursive: true });
    fs.writeFileSync(path.join(app, 'index.html'),
                     `<!DOCTYPE html><html lang="en"><title>app</title><main><h1>App</h1><p>${APP_TEXT}</p></main></html>\n`);
    fs.chmodSync(app, 0o755);
    fs.chmodSync(path.join(app, 'index.html'), 0o644);

    const run = crypto.randomBytes(4).toString('hex');
    const langs = ['fr', 'nl', 'de', 'en'];
    const citizens = langs.map((lang, i) => ({
        lang, run,
        nrn: nationalNumber(90, 3, 10 + i, 300 + i), birth: `1990-03-${10 + i}`,
        first: `Login${lang}`, last: `Citizen-${lang}`, doc: `EP${run}${i}`,
        email: `login-${lang}-${run}@example.be`, username: `login.${lang}.${run}`,
        password: `Tournesol-${crypto.randomBytes(6).toString('hex')}-Bleu`,
    }));
    for (const c of citizens) await enrol(c);

    const browser = await launch();
    try {
        await returnPaths(browser);
        await full(browser, citizens[0]);
        for (const [i, lang] of langs.entries()) {
            if (i > 0) await brief(browser, lang, citizens[i]);
        }
    } finally {
        await browser.close();
    }
    // The pages' own warnings are failures too.
    const log = fs.readFileSync(env('CSAM_TEST_HTTPD_ERROR_LOG'), 'utf8').split('\n');
    const warned = log.filter((l) => /CSAM00[56]\d\d/.test(l) && !/:info\]/.test(l));
    for (const l of warned) console.log(`# ${l}`);
    check(warned.length === 0, 'the pages logged no warning');
    for (const lang of langs) {
        const n = [...axeChecked].filter((k) => k.startsWith(`${lang}:`)).length;
        check(n >= 6, `${lang}: axe ran on ${n} pages`);
    }
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
