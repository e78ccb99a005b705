// SPDX-License-Identifier: Apache-2.0
// The mobile-app (TOTP) and SMS keys through the pages, in a real browser
// (Debian's chromium driven by playwright-core), against the httpd started
// by tests/lib/httpd-run with an SMS gateway configured (the recording
// gateway of run-with-services) and /app protected by AuthType CSAM
// (browser.sh).
//
// In each language (fr, nl, de, en) two citizens are registered through the
// API, then everything else happens in the pages:
//   A activates the mobile-app key: the QR code (inline SVG with an
//     accessible name, no script, decoded by zbarimg as a phone's camera
//     would) and the secret grouped by four; the code comes from oathtool,
//     an implementation independent of the module's.
//     A logs in with the app (the activation's code is refused: a step is
//     never accepted twice), adds the SMS key on the keys page (phone
//     errors next to the field, the confirm page shows the masked number)
//     and the e-mail key (keys_confirm), logs out, and logs in again
//     choosing the SMS key among three (login_key).
//   B activates the SMS key (the confirm page names the masked number),
//     logs in with the SMS code, adds the mobile-app key on the keys page
//     (keys_totp), logs out and logs in choosing the app.
// axe-core runs on every page shown and fails the test on any violation;
// each step is saved as a PNG (keys-*.png) under
// $CSAM_BUILDDIR/tests/artifacts/.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

import {
    env, base, artifacts, LOCALES, check, failures, nextMail, skipMail, CODE_RE,
    nextSms, skipSms, totp, nationalNumber, register, screenshot, axe, axeChecked,
    type, submit, launch,
} from './lib.mjs';

const WORDS = {
    fr: {
        next: 'Suivant', activate: 'Activez clé numérique', cont: 'Continuer', logout: 'Se déconnecter',
        resend: 'Envoyer un nouveau code', active: 'Active',
        doneTotp: 'La clé numérique « application mobile » a été activée.',
        doneSms: 'La clé numérique « code de sécurité par SMS » a été activée.',
        totpName: 'Application mobile', smsName: 'Code de sécurité par SMS', emailName: 'Code de sécurité par e-mail',
        attempts: /Il vous reste 4 tentatives/,
    },
    nl: {
        next: 'Volgende', activate: 'Digitale sleutel activeren', cont: 'Doorgaan', logout: 'Afmelden',
        resend: 'Een nieuwe code sturen', active: 'Actief',
        doneTotp: 'De digitale sleutel „mobiele app” werd geactiveerd.',
        doneSms: 'De digitale sleutel „beveiligingscode via sms” werd geactiveerd.',
        totpName: 'Mobiele app', smsName: 'Beveiligingscode via sms', emailName: 'Beveiligingscode via e-mail',
        attempts: /nog 4 pogingen/,
    },
    de: {
        next: 'Weiter', activate: 'Digitalen Schlüssel aktivieren', cont: 'Fortfahren', logout: 'Abmelden',
        resend: 'Einen neuen Code senden', active: 'Aktiv',
        doneTotp: 'Der digitale Schlüssel „Mobile App“ wurde aktiviert.',
        doneSms: 'Der digitale Schlüssel „Sicherheitscode per SMS“ wurde aktiviert.',
        totpName: 'Mobile App', smsName: 'Sicherheitscode per SMS', emailName: 'Sicherheitscode per E-Mail',
        attempts: /noch 4 Versuche/,
    },
    en: {
        next: 'Next', activate: 'Activate digital key', cont: 'Continue', logout: 'Log out',
        resend: 'Send a new code', active: 'Active',
        doneTotp: 'The digital key “mobile app” has been activated.',
        doneSms: 'The digital key “security code by SMS” has been activated.',
        totpName: 'Mobile app', smsName: 'Security code by SMS', emailName: 'Security code by e-mail',
        attempts: /4 attempts left/,
    },
};

const APP = '/app/index.html';
const APP_TEXT = 'protected page for the key types test';

async function visit(page, lang, step) {
    await screenshot(page, 'keys', lang, step);
    await axe(page, lang, step);
}

function pathOf(page) {
    return new URL(page.url()).pathname;
}

// browser.sh sets CSAMResendCooldown 3: two codes for one account need
// that much time between them.
async function cooldown(page) {
    await page.waitForTimeout(3100);
}

let freshCount = 0;
function fresh() {
    freshCount += 1;
    return `?after-logout=${freshCount}`;
}

// The app key's page: the QR code and the secret; returns the secret.
async function appKeyPage(page, lang, what, resp) {
    const svg = page.locator('.qr svg');
    check(await svg.count() === 1 && (await svg.getAttribute('role')) === 'img'
          && ((await svg.getAttribute('aria-label')) || '').length > 10,
          `${lang}: ${what}: the QR code is an inline SVG with an accessible name`);
    check(await page.locator('script').count() === 0
          && /default-src 'none'/.test(resp.headers()['content-security-policy'] || ''),
          `${lang}: ${what}: no script, and the Content-Security-Policy holds`);
    check(/no-store/.test(resp.headers()['cache-control'] || ''),
          `${lang}: ${what}: the page with the secret is not stored`);
    const shown = (await page.locator('#totp-secret').innerText()).trim();
    check(/^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/.test(shown), `${lang}: ${what}: the secret is shown in groups of four`);
    const secret = shown.replace(/ /g, '');
    check(!(await page.content()).includes('otpauth://'), `${lang}: ${what}: the URI is in the QR code only, not as text`);
    // What a phone's camera reads: the QR code as drawn, decoded by zbar.
    const png = path.join(artifacts, `keys-qr-${lang}.png`);
    await svg.screenshot({ path: png });
    let uri = '';
    try {
        uri = execFileSync('zbarimg', ['-q', '--raw', png], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch (e) {
        console.log(`# zbarimg: ${e.message}`);
    }
    fs.unlinkSync(png);
    const u = uri.startsWith('otpauth://totp/') ? new URL(uri) : null;
    check(u && u.searchParams.get('secret') === secret && u.searchParams.get('digits') === '6'
          && u.searchParams.get('period') === '30' && u.searchParams.get('algorithm') === 'SHA1',
          `${lang}: ${what}: the QR code decodes (zbarimg) to the otpauth URI of the secret shown`);
    return secret;
}

// The activation pages up to the key choice; returns the page.
async function openActivation(browser, lang, c) {
    const ctx = await browser.newContext({ locale: LOCALES[lang] });
    const page = await ctx.newPage();
    const w = WORDS[lang];
    const letter = await register(c);
    await page.goto(`${base}/csam/activate?t=${letter.token}`);
    await type(page, '#activation_code', letter.code);
    await submit(page, w.next);
    check(await page.locator('#key_type').count() === 1 && await page.locator('#key_type-totp').count() === 1
          && await page.locator('#key_type-sms').count() === 1 && await page.locator('#phone').count() === 1,
          `${lang}: the key choice offers the e-mail, the app and (a gateway being configured) the SMS key with its phone field`);
    return { ctx, page };
}

async function credentials(page, lang, c) {
    const w = WORDS[lang];
    check(await page.locator('#username').count() === 1, `${lang}: the key choice leads to username and password`);
    await type(page, '#username', c.username);
    await type(page, '#password', c.password);
    await type(page, '#password_repeat', c.password);
    const wait = page.waitForNavigation();
    await page.getByRole('button', { name: w.next, exact: true }).click();
    return wait;
}

async function login(page, lang, c) {
    const w = WORDS[lang];
    await page.goto(`${base}${APP}${fresh()}`);
    check(pathOf(page) === '/csam/login', `${lang}: the protected page redirects to the login page`);
    await type(page, '#username', c.username);
    await type(page, '#password', c.password);
    return submit(page, w.next);
}

async function logout(page, lang) {
    const w = WORDS[lang];
    await page.goto(`${base}/csam/logout`);
    await submit(page, w.logout);
    check(pathOf(page) === '/csam/login', `${lang}: logged out`);
}

// Add a key on the keys page: choose it, accept the terms, submit.
async function addKey(page, lang, id, phone) {
    const w = WORDS[lang];
    await page.goto(`${base}/csam/keys`);
    await page.locator(`label[for="${id}"]`).click();
    if (phone !== undefined) await type(page, '#phone', phone);
    await page.locator('label[for="accept_terms"]').click();
    return submit(page, w.activate);
}

// Citizen A: the app key at activation, then SMS and e-mail added.
async function citizenApp(browser, lang, c) {
    const w = WORDS[lang];
    const full = lang === 'fr';
    const { ctx, page } = await openActivation(browser, lang, c);
    await visit(page, lang, 'activate-key');
    if (full) {
        // SMS chosen without a number, then with a wrong one: next to the field.
        await page.locator('label[for="key_type-sms"]').click();
        await page.locator('label[for="accept_terms"]').click();
        await submit(page, w.activate);
        check(await page.locator('#phone-error').isVisible().catch(() => false)
              && (await page.getAttribute('#phone', 'aria-describedby')) === 'phone-error',
              `${lang}: the SMS key without a number: the error is next to the phone field`);
        check(await page.locator('.error-summary a[href="#phone"]').count() === 1,
              `${lang}: and the error summary links to it`);
        await visit(page, lang, 'activate-key-phone-missing');
        await page.locator('label[for="key_type-sms"]').click();
        await type(page, '#phone', '12');
        await page.locator('label[for="accept_terms"]').click();
        await submit(page, w.activate);
        check(await page.locator('#phone-error').isVisible().catch(() => false)
              && (await page.inputValue('#phone')) === '12' && await page.locator('#key_type-sms').isChecked(),
              `${lang}: a number that is not one: the error is next to the field, the number and the choice kept`);
        await visit(page, lang, 'activate-key-phone-wrong');
    }
    await page.locator('label[for="key_type-totp"]').click();
    await page.locator('label[for="accept_terms"]').click();
    await submit(page, w.activate);
    await visit(page, lang, 'activate-credentials-totp');
    const resp = await credentials(page, lang, c);
    check(await page.locator('#code').count() === 1, `${lang}: the credentials lead to the app key's page`);
    const secret = await appKeyPage(page, lang, 'activation', resp);
    await visit(page, lang, 'activate-totp');
    if (full) {
        // A reload shows the same secret (it stays until confirmed).
        await page.reload();
        check((await page.locator('#totp-secret').innerText()).replace(/ /g, '') === secret,
              `${lang}: a reload shows the same secret`);
        const wrong = totp(secret) === '000000' ? '111111' : '000000';
        await type(page, '#code', wrong);
        await submit(page, w.cont);
        check(w.attempts.test(await page.locator('#code-error').innerText().catch(() => '')),
              `${lang}: a wrong app code shows the attempts left next to the field`);
        await visit(page, lang, 'activate-totp-wrong');
    }
    const used = totp(secret);
    await type(page, '#code', used);
    await submit(page, w.cont);
    check((await page.locator('.success').innerText().catch(() => '')).trim() === w.doneTotp,
          `${lang}: "${w.doneTotp}" (code from oathtool)`);
    check(!(await page.content()).includes(secret.slice(0, 8)), `${lang}: the secret is gone from the success page`);
    await visit(page, lang, 'activate-done-totp');

    // Login with the app: one key, so straight to its code; no new code
    // to ask for; the activation's code (its step) is refused.
    await login(page, lang, c);
    check(await page.locator('#code').count() === 1
          && await page.getByRole('button', { name: w.resend, exact: true }).count() === 0,
          `${lang}: the password leads to the app's code, with no "new code" button`);
    await visit(page, lang, 'login-totp');
    await type(page, '#code', used);
    await submit(page, w.cont);
    check(await page.locator('#code-error').isVisible().catch(() => false),
          `${lang}: the code already used at activation is refused (replay)`);
    await type(page, '#code', totp(secret, 1));
    await submit(page, w.cont);
    check(pathOf(page) === APP && (await page.content()).includes(APP_TEXT),
          `${lang}: the app's next code (oathtool) logs in to the protected page`);

    // Add the SMS key on the keys page.
    const { phone } = c;
    const e164 = `+32${phone.replace(/ /g, '').slice(1)}`;
    await page.goto(`${base}/csam/keys`);
    check(await page.locator('#key_type-totp').isDisabled() && await page.locator('#key_type-sms').isEnabled(),
          `${lang}: the keys page shows the app key as active, the SMS key as possible`);
    await visit(page, lang, 'keys-with-totp');
    if (full) {
        await addKey(page, lang, 'key_type-sms', '');
        check(await page.locator('#phone-error').isVisible().catch(() => false),
              `${lang}: keys page: the SMS key without a number: the error is next to the phone field`);
        await visit(page, lang, 'keys-add-phone-missing');
    }
    skipSms();
    await cooldown(page);
    await addKey(page, lang, 'key_type-sms', phone);
    const text = await page.locator('main').innerText();
    check(text.includes(`+32${'\u2022'.repeat(7)}${e164.slice(-2)}`) && !text.includes(e164.slice(3)),
          `${lang}: the SMS confirm page says where the code went, masked`);
    await visit(page, lang, 'keys-sms');
    const smsCode = (await nextSms(e164, CODE_RE, 'key confirmation'))[0];
    await type(page, '#code', smsCode);
    await submit(page, w.cont);
    check((await page.locator('table.keys').innerText().catch(() => '')).includes(w.smsName),
          `${lang}: the SMS key is listed once its code is typed`);

    // And the e-mail key (keys_confirm).
    skipMail();
    await cooldown(page);
    await addKey(page, lang, 'key_type');
    check(await page.locator('#code').count() === 1, `${lang}: adding the e-mail key asks for its code`);
    await visit(page, lang, 'keys-confirm-email');
    const mailCode = (await nextMail(c.email, CODE_RE, 'key confirmation'))[0];
    await type(page, '#code', mailCode);
    await submit(page, w.cont);
    const rows = await page.locator('table.keys').innerText().catch(() => '');
    check(rows.includes(w.emailName) && rows.includes(w.smsName) && rows.includes(w.totpName),
          `${lang}: the keys page lists the three keys`);
    await visit(page, lang, 'keys-three');
    await logout(page, lang);

    // Three keys: the choice (login_key), then SMS.
    await cooldown(page);
    await login(page, lang, c);
    check(await page.locator('input[name="key_type"]').count() === 3,
          `${lang}: with three keys the password leads to the choice among them`);
    await visit(page, lang, 'login-key');
    skipSms();
    await page.locator('input[name="key_type"][value="sms"]').check();
    await submit(page, w.next);
    check(await page.locator('#code').count() === 1 && await page.getByRole('button', { name: w.resend, exact: true }).count() === 1,
          `${lang}: the SMS key leads to its code, with a "new code" button`);
    await visit(page, lang, 'login-code-sms');
    const loginSms = (await nextSms(e164, CODE_RE, 'login'))[0];
    await type(page, '#code', loginSms);
    await submit(page, w.cont);
    check(pathOf(page) === APP, `${lang}: the SMS code (from the gateway) logs in`);
    await ctx.close();
}

// Citizen B: the SMS key at activation, then the app key added.
async function citizenSms(browser, lang, c) {
    const w = WORDS[lang];
    const { ctx, page } = await openActivation(browser, lang, c);
    const e164 = `+32${c.phone.replace(/ /g, '').slice(1)}`;
    await page.locator('label[for="key_type-sms"]').click();
    await type(page, '#phone', c.phone);
    await page.locator('label[for="accept_terms"]').click();
    await submit(page, w.activate);
    await visit(page, lang, 'activate-credentials-sms');
    skipSms();
    await credentials(page, lang, c);
    const text = await page.locator('main').innerText();
    check(await page.locator('#code').count() === 1 && text.includes(`+32${'\u2022'.repeat(7)}${e164.slice(-2)}`)
          && !text.includes(e164.slice(3)),
          `${lang}: the SMS confirm page says where the code went, masked`);
    await visit(page, lang, 'activate-sms');
    const code = (await nextSms(e164, CODE_RE, 'activation'))[0];
    await type(page, '#code', code);
    await submit(page, w.cont);
    check((await page.locator('.success').innerText().catch(() => '')).trim() === w.doneSms, `${lang}: "${w.doneSms}"`);
    await visit(page, lang, 'activate-done-sms');

    skipSms();
    await cooldown(page);
    await login(page, lang, c);
    check(await page.locator('#code').count() === 1, `${lang}: the password leads to the SMS code (one key)`);
    const loginCode = (await nextSms(e164, CODE_RE, 'login'))[0];
    await type(page, '#code', loginCode);
    await submit(page, w.cont);
    check(pathOf(page) === APP, `${lang}: the SMS code logs in`);

    const resp = await addKey(page, lang, 'key_type-totp');
    check(await page.locator('#code').count() === 1, `${lang}: adding the app key shows its page`);
    const secret = await appKeyPage(page, lang, 'keys page', resp);
    await visit(page, lang, 'keys-totp');
    await type(page, '#code', totp(secret));
    await submit(page, w.cont);
    check((await page.locator('table.keys').innerText().catch(() => '')).includes(w.totpName),
          `${lang}: the app key is listed once its code (oathtool) is typed`);
    await logout(page, lang);

    await login(page, lang, c);
    check(await page.locator('input[name="key_type"]').count() === 2, `${lang}: two keys: the choice`);
    await page.locator('input[name="key_type"][value="totp"]').check();
    await submit(page, w.next);
    check(await page.getByRole('button', { name: w.resend, exact: true }).count() === 0,
          `${lang}: the app chosen: its code page, with no "new code" button`);
    await visit(page, lang, 'login-totp-chosen');
    await type(page, '#code', totp(secret, 1));
    await submit(page, w.cont);
    check(pathOf(page) === APP, `${lang}: the app's code (oathtool) logs in`);
    await ctx.close();
}

async function main() {
    fs.mkdirSync(artifacts, { recursive: true });
    for (const f of fs.readdirSync(artifacts)) {
        if (/^keys-.*\.png$/.test(f)) fs.unlinkSync(path.join(artifacts, f));
    }
    const app = path.join(env('CSAM_TEST_HTTPD_CONF_DIR'), 'htdocs', 'app');
    fs.mkdirSync(app, { recursive: true });
    fs.writeFileSync(path.join(app, 'index.html'),
                     `<!DOCTYPE html><html lang="en"><title>app</title><main><h1>App</h1><p>${APP_TEXT}</p></main></html>\n`);
    fs.chmodSync(app, 0o755);
    fs.chmodSync(path.join(app, 'index.html'), 0o644);

    const run = crypto.randomBytes(4).toString('hex');
    const langs = ['fr', 'nl', 'de', 'en'];
    const digits = String(parseInt(run, 16) % 10000).padStart(4, '0');
    const citizen = (lang, i, kind) => ({
        lang, run,
        nrn: nationalNumber(88, kind === 'app' ? 4 : 5, 10 + i, 400 + i), birth: `1988-0${kind === 'app' ? 4 : 5}-${10 + i}`,
        first: `Keys${lang}`, last: `Citizen-${kind}-${lang}`, doc: `EK${run}${kind}${i}`,
        email: `keys-${kind}-${lang}-${run}@example.be`, username: `keys.${kind}.${lang}.${run}`,
        password: `Tournesol-${crypto.randomBytes(6).toString('hex')}-Vert`,
        phone: `${kind === 'app' ? '0470' : '0471'} ${digits.slice(0, 2)} ${digits.slice(2)} ${String(10 + i)}`,
    });

    const browser = await launch();
    try {
        for (const [i, lang] of langs.entries()) {
            await citizenApp(browser, lang, citizen(lang, i, 'app'));
            await citizenSms(browser, lang, citizen(lang, i, 'sms'));
        }
    } finally {
        await browser.close();
    }
    const log = fs.readFileSync(env('CSAM_TEST_HTTPD_ERROR_LOG'), 'utf8').split('\n');
    const warned = log.filter((l) => /CSAM00[56]\d\d/.test(l) && !/:info\]/.test(l));
    for (const l of warned) console.log(`# ${l}`);
    check(warned.length === 0, 'the pages logged no warning');
    check(!log.some((l) => /otpauth|secret=/i.test(l)), 'no secret in the error log');
    for (const lang of langs) {
        const n = [...axeChecked].filter((k) => k.startsWith(`${lang}:`)).length;
        check(n >= 16, `${lang}: axe ran on ${n} pages`);
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
