// SPDX-License-Identifier: Apache-2.0
// The HTML flow as people use it, in a real browser (Debian's chromium
// driven by playwright-core), against the httpd started by tests/lib/httpd-run:
// an officer registers a citizen through the desk form and gets the letter
// with the activation code; the citizen opens the link from the e-mail,
// types the paper code, chooses the e-mail key and accepts the terms,
// creates a username and password, types the code from the second e-mail
// and sees the key activated.  Once per language (fr, nl, de, en), one of
// them by keyboard alone.  axe-core checks every page shown and the test
// fails on any violation; each step is saved as a PNG under
// $CSAM_BUILDDIR/tests/artifacts/.  Failure paths: a wrong paper code shows
// the attempts left next to its field, a form without (or with a wrong)
// CSRF token is refused, the letter is shown only once, exhausted attempts
// and a used link say so plainly.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

const env = (name) => {
    const v = process.env[name];
    if (!v) {
        console.error(`walk.mjs: ${name} is not set (run through tests/lib/httpd-run)`);
        process.exit(99);
    }
    return v;
};

const base = env('CSAM_TEST_HTTPD_URL');
const builddir = env('CSAM_BUILDDIR');
const maildir = path.join(env('CSAM_TEST_MAILDIR'), 'new');
const modules = process.env.CSAM_BROWSER_MODULES
    || path.join(builddir, 'tests', 'browser');
const artifacts = path.join(builddir, 'tests', 'artifacts');
const chromiumPath = process.env.CSAM_CHROMIUM || '/usr/bin/chromium';

// The npm packages live in the build tree (or where browser.sh installed
// them: CSAM_BROWSER_MODULES), never in the sources.
const require = createRequire(path.join(modules, 'package.json'));
const { chromium } = require('playwright-core');
const axeSource = require('axe-core').source;

fs.mkdirSync(artifacts, { recursive: true });
// Only this run's screenshots: an earlier run's would mislead.
for (const f of fs.readdirSync(artifacts)) {
    if (/^browser-.*\.png$/.test(f)) fs.unlinkSync(path.join(artifacts, f));
}

const failures = [];
function check(cond, what) {
    if (cond) {
        console.log(`ok - ${what}`);
    } else {
        console.log(`not ok - ${what}`);
        failures.push(what);
    }
}

// What each language's pages must say (the fr wording is the seeds').
const WORDS = {
    fr: {
        next: 'Suivant', activate: 'Activez clé numérique', cont: 'Continuer',
        register: 'Enregistrer et imprimer la lettre',
        done: 'La clé numérique « code de sécurité par e-mail » a été activée.',
        attempts: /Il vous reste 4 tentatives/,
        expired: "Ce lien d'activation n'est plus valable",
        locked: "Ce code d'activation est bloqué",
        letterGone: 'Lettre déjà affichée',
        csrf: 'Le formulaire a expiré',
        resend: 'Envoyer un nouveau code', resendWait: /Attendez \d+ secondes/,
    },
    nl: {
        next: 'Volgende', activate: 'Digitale sleutel activeren', cont: 'Doorgaan',
        register: 'Registreren en de brief afdrukken',
        done: 'De digitale sleutel „beveiligingscode via e-mail” werd geactiveerd.',
        attempts: /nog 4 pogingen/,
        expired: 'Deze activeringslink is niet meer geldig',
    },
    de: {
        next: 'Weiter', activate: 'Digitalen Schlüssel aktivieren', cont: 'Fortfahren',
        register: 'Registrieren und Brief drucken',
        done: 'Der digitale Schlüssel „Sicherheitscode per E-Mail“ wurde aktiviert.',
        attempts: /noch 4 Versuche/,
        expired: 'Dieser Aktivierungslink ist nicht mehr gültig',
    },
    en: {
        next: 'Next', activate: 'Activate digital key', cont: 'Continue',
        register: 'Register and print the letter',
        done: 'The digital key “security code by e-mail” has been activated.',
        attempts: /4 attempts left/,
        expired: 'This activation link is no longer valid',
    },
};
const LOCALES = { fr: 'fr-BE', nl: 'nl-BE', de: 'de-BE', en: 'en-GB' };

// A valid national register number for a birth date in the 1980s.
function nationalNumber(yy, mm, dd, seq) {
    const body = `${String(yy).padStart(2, '0')}${String(mm).padStart(2, '0')}${String(dd).padStart(2, '0')}${String(seq).padStart(3, '0')}`;
    const check = 97 - (Number(body) % 97);
    return `${body.slice(0, 2)}.${body.slice(2, 4)}.${body.slice(4, 6)}-${body.slice(6, 9)}.${String(check).padStart(2, '0')}`;
}

// ---- mail ------------------------------------------------------------------

function decodeQP(s) {
    const bytes = [];
    const src = s.replace(/=\r?\n/g, '');
    for (let i = 0; i < src.length; i++) {
        if (src[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(src.slice(i + 1, i + 3))) {
            bytes.push(parseInt(src.slice(i + 1, i + 3), 16));
            i += 2;
        } else {
            bytes.push(...Buffer.from(src[i], 'utf8'));
        }
    }
    return Buffer.from(bytes).toString('utf8');
}

// The decoded text/plain part of a raw message.
function textPart(raw) {
    const m = raw.match(/Content-Type:\s*text\/plain[^\r\n]*\r?\n((?:[^\r\n]+\r?\n)*?)\r?\n([\s\S]*?)(?:\r?\n--[^\r\n]+|$)/i);
    if (!m) return '';
    const headers = m[1];
    const body = m[2];
    if (/Content-Transfer-Encoding:\s*quoted-printable/i.test(headers)) return decodeQP(body);
    if (/Content-Transfer-Encoding:\s*base64/i.test(headers)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    return body;
}

const seenMail = new Set();
// Wait for the next mail to `to` whose text matches re; returns the match.
async function nextMail(to, re, what) {
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline) {
        const names = fs.existsSync(maildir) ? fs.readdirSync(maildir).sort() : [];
        for (const name of names) {
            if (seenMail.has(name)) continue;
            const raw = fs.readFileSync(path.join(maildir, name), 'utf8');
            const rcpt = raw.match(/^X-Csam-Envelope-To:\s*(\S+)/mi);
            if (!rcpt || rcpt[1].replace(/[<>]/g, '') !== to) continue;
            const text = textPart(raw);
            const m = text.match(re);
            if (m) {
                seenMail.add(name);
                return m;
            }
        }
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`no ${what} mail for ${to} within 15 s`);
}

// ---- pages -----------------------------------------------------------------

let shot = 0;
async function screenshot(page, lang, step) {
    shot += 1;
    const file = path.join(artifacts, `browser-${String(shot).padStart(2, '0')}-${lang}-${step}.png`);
    await page.screenshot({ path: file, fullPage: true });
}

const axeChecked = new Set();
// axe-core on the page as it stands; any violation fails the test.
async function axe(page, lang, step) {
    if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) {
        // DevTools evaluation is not subject to the page's CSP (no script
        // is allowed there), so axe is injected this way.
        await page.evaluate(axeSource);
    }
    const result = await page.evaluate(async () => {
        // eslint-disable-next-line no-undef
        const r = await axe.run(document, {
            runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
            resultTypes: ['violations'],
        });
        return r.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
        }));
    });
    axeChecked.add(`${lang}:${step}`);
    for (const v of result) {
        console.log(`# axe ${lang}/${step}: ${v.id} (${v.impact}): ${v.help} at ${v.nodes.join(', ')}`);
    }
    check(result.length === 0, `axe: no violation on ${lang}/${step}`);
}

async function visit(page, lang, step) {
    await screenshot(page, lang, step);
    await axe(page, lang, step);
}

function securityHeaders(resp, what, noStore) {
    const h = resp.headers();
    check(/default-src 'none'/.test(h['content-security-policy'] || '')
          && /frame-ancestors 'none'/.test(h['content-security-policy'] || ''),
          `${what}: Content-Security-Policy`);
    if (noStore) check(/no-store/.test(h['cache-control'] || ''), `${what}: Cache-Control no-store`);
}

// Type into a field as a person does: click it (or tab to it), then type.
async function type(page, selector, text, keyboard) {
    const field = page.locator(selector);
    if (keyboard) {
        await tabTo(page, selector);
    } else {
        await field.click();
    }
    await field.press('Control+a');
    await page.keyboard.type(text);
}

// Move the focus with Tab alone until selector has it; the focus must
// show (WCAG 2.4.7).
const focusSeen = new Set();
async function tabTo(page, selector) {
    for (let i = 0; i < 40; i++) {
        const visible = await page.locator(selector).evaluate((el) => {
            if (el !== document.activeElement) return null;
            const cs = getComputedStyle(el);
            return (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2) || cs.boxShadow !== 'none';
        });
        if (visible !== null) {
            if (!focusSeen.has(selector)) {
                focusSeen.add(selector);
                check(visible, `keyboard focus is visible on ${selector}`);
            }
            return;
        }
        await page.keyboard.press('Tab');
    }
    throw new Error(`${selector} cannot be reached with the Tab key`);
}

async function submit(page, name, keyboard) {
    const button = page.getByRole('button', { name, exact: true });
    const wait = page.waitForNavigation();
    if (keyboard) {
        await tabTo(page, `button:text-is("${name}")`);
        await page.keyboard.press('Enter');
    } else {
        await button.click();
    }
    return wait;
}

// ---- the flows -------------------------------------------------------------

async function register(browser, lang, citizen, opts = {}) {
    const ctx = await browser.newContext({
        locale: LOCALES[lang], httpCredentials: { username: 'officer', password: 'officer' },
    });
    const page = await ctx.newPage();
    const w = WORDS[lang];
    const resp = await page.goto(`${base}/csam/registration`);
    check(resp.status() === 200, `${lang}: the officer gets the registration form`);
    securityHeaders(resp, `${lang}: registration form`, true);
    check((await page.getAttribute('html', 'lang')) === lang, `${lang}: form in the officer's language`);
    if (opts.pages) await visit(page, lang, 'registration-form');

    if (opts.invalid) {
        // A wrong check digit and a bad address: both shown next to their
        // fields, the input kept.
        await type(page, '#national_number', '85.07.30-033.99');
        await type(page, '#email', 'not-an-address');
        await submit(page, w.register);
        check(await page.locator('#national_number[aria-invalid="true"]').count() === 1
              && await page.locator('#national_number-error').isVisible(),
              `${lang}: a bad national number is shown next to its field`);
        check(await page.locator('.error-summary a[href="#email"]').count() === 1,
              `${lang}: the error summary links to the bad e-mail field`);
        check((await page.inputValue('#national_number')) === '85.07.30-033.99',
              `${lang}: the officer's input is kept`);
        await visit(page, lang, 'registration-errors');
    }

    await type(page, '#national_number', citizen.nrn);
    await type(page, '#first_name', citizen.first);
    await type(page, '#last_name', citizen.last);
    await page.locator('#birth_date').fill(citizen.birth);
    await page.selectOption('#document_type', 'passport');
    await type(page, '#document_number', citizen.doc);
    await type(page, '#email', citizen.email);
    await page.selectOption('#language', lang);
    await submit(page, w.register);

    check(page.url().endsWith('/csam/registration/letter'), `${lang}: the form leads to the letter`);
    const code = (await page.locator('.activation-code').innerText()).trim();
    check(/^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/.test(code), `${lang}: the letter shows the activation code`);
    check((await page.locator('.letter').innerText()).includes(`${citizen.first} ${citizen.last}`),
          `${lang}: the letter names the citizen`);
    check((await page.getAttribute('html', 'lang')) === lang, `${lang}: letter in the citizen's language`);
    if (opts.pages) {
        await visit(page, lang, 'letter');
        await page.emulateMedia({ media: 'print' });
        await screenshot(page, lang, 'letter-print');
        check(!(await page.locator('.site-header').isVisible()) && !(await page.locator('.officer-note').isVisible())
              && await page.locator('.activation-code').isVisible(),
              `${lang}: the printed letter has the code and nothing of the desk`);
        await page.emulateMedia({ media: 'screen' });
        const again = await page.reload();
        check(again.status() === 410, `${lang}: the letter is shown only once`);
        if (w.letterGone) check((await page.locator('h1').innerText()).includes(w.letterGone), `${lang}: and says so`);
        check(!(await page.content()).includes(code), `${lang}: the code is gone from the reloaded page`);
        await visit(page, lang, 'letter-gone');
    }
    await ctx.close();
    const link = (await nextMail(citizen.email, /https?:\/\/\S+\/csam\/activate\?t=[A-Za-z0-9_-]{43}/, 'activation'))[0];
    check(link.startsWith(base), `${lang}: the e-mailed link points to CSAMPublicURL`);
    return { code, link };
}

async function activate(browser, lang, citizen, letter, opts = {}) {
    const ctx = await browser.newContext({ locale: LOCALES[opts.browserLang || lang] });
    const page = await ctx.newPage();
    const w = WORDS[lang];
    const kb = !!opts.keyboard;

    let resp = await page.goto(letter.link);
    check(resp.status() === 200, `${lang}: the link opens the activation page`);
    securityHeaders(resp, `${lang}: activation page`, true);
    check((await page.getAttribute('html', 'lang')) === lang, `${lang}: activation in the registration's language`);
    await visit(page, lang, 'activate-code');

    if (kb) {
        // The first Tab reaches the skip link, which is then visible.
        await page.keyboard.press('Tab');
        check(await page.locator('.skip-link').evaluate((el) => el === document.activeElement
              && el.getBoundingClientRect().top >= 0), `${lang}: the skip link comes first and shows on focus`);
    }

    if (opts.failures) {
        const csrfUrl = letter.link;
        // The same browser (its cookies), but a form without its token.
        let r = await ctx.request.post(csrfUrl, { form: { step: 'code', activation_code: letter.code }, maxRedirects: 0 });
        check(r.status() === 403, `${lang}: a form without CSRF token is refused (403)`);
        if (w.csrf) check((await r.text()).includes(w.csrf), `${lang}: and the page says why`);
        r = await ctx.request.post(csrfUrl, { form: { step: 'code', activation_code: letter.code, csrf: 'A'.repeat(43) }, maxRedirects: 0 });
        check(r.status() === 403, `${lang}: a form with a wrong CSRF token is refused (403)`);

        await type(page, '#activation_code', 'AAAA-BBBB-CCCC', kb);
        await submit(page, w.next, kb);
        const err = page.locator('#activation_code-error');
        check(await err.isVisible() && w.attempts.test(await err.innerText()),
              `${lang}: a wrong paper code shows the attempts left next to the field`);
        check((await page.getAttribute('#activation_code', 'aria-describedby')) === 'activation_code-error'
              && (await page.getAttribute('#activation_code', 'aria-invalid')) === 'true',
              `${lang}: the field is marked invalid and described by its error`);
        check(await page.locator('.error-summary').isVisible(), `${lang}: an error summary heads the page`);
        await visit(page, lang, 'activate-code-wrong');
        // The CSRF refusals above did not count as attempts (still 4 left
        // after one wrong code: checked by w.attempts).
    }

    await type(page, '#activation_code', letter.code.toLowerCase(), kb);
    await submit(page, w.next, kb);
    check(await page.locator('#key_type').count() === 1, `${lang}: the paper code leads to the key choice`);
    // No SMS gateway in this server: the SMS key is not offered at all.
    check(await page.locator('#key_type-totp').isEnabled().catch(() => false)
          && await page.locator('#key_type-sms').count() === 0 && await page.locator('#phone').count() === 0,
          `${lang}: the mobile app is offered; SMS, without a gateway, is not`);
    await visit(page, lang, 'activate-key');

    if (opts.failures) {
        await submit(page, w.activate, kb);
        check(await page.locator('#accept_terms-error').isVisible() && await page.locator('#key_type-error').isVisible(),
              `${lang}: no key and no terms: both errors next to their fields`);
        await visit(page, lang, 'activate-key-errors');
    }
    if (kb) {
        await tabTo(page, '#key_type');
        await page.keyboard.press('Space');
        await tabTo(page, '#accept_terms');
        await page.keyboard.press('Space');
    } else {
        await page.locator('label[for="key_type"]').click();
        await page.locator('label[for="accept_terms"]').click();
    }
    await submit(page, w.activate, kb);
    check(await page.locator('#username').count() === 1, `${lang}: the key choice leads to username and password`);
    await visit(page, lang, 'activate-credentials');

    const password = `Tournesol-${crypto.randomBytes(6).toString('hex')}-Bleu`;
    if (opts.failures) {
        await type(page, '#username', citizen.username, kb);
        await type(page, '#password', password, kb);
        await type(page, '#password_repeat', `${password}x`, kb);
        await submit(page, w.next, kb);
        check(await page.locator('#password_repeat-error').isVisible(), `${lang}: different passwords are shown next to the repetition`);
        check((await page.inputValue('#username')) === citizen.username && (await page.inputValue('#password')) === '',
              `${lang}: the username is kept, the password is not`);
        await visit(page, lang, 'activate-credentials-errors');
    }
    await type(page, '#username', citizen.username, kb);
    await type(page, '#password', password, kb);
    await type(page, '#password_repeat', password, kb);
    await submit(page, w.next, kb);
    check(await page.locator('#code').count() === 1, `${lang}: the credentials lead to the e-mailed code`);
    check(await page.locator('.notice[role="status"]').isVisible(), `${lang}: the page says a code was sent`);
    await visit(page, lang, 'activate-confirm');

    const code = (await nextMail(citizen.email, /(?<!\d)\d{6,8}(?!\d)/, 'security code'))[0];
    if (opts.failures) {
        // A new code so soon is refused, with the wait; the first stays good.
        await submit(page, w.resend, kb);
        check(w.resendWait.test(await page.locator('.error-summary').innerText()),
              `${lang}: asking for a new code at once says how long to wait`);
        await visit(page, lang, 'activate-confirm-resend');

        const wrong = code === '000000' ? '111111' : '000000';
        await type(page, '#code', wrong, kb);
        await submit(page, w.cont, kb);
        check(await page.locator('#code-error').isVisible() && w.attempts.test(await page.locator('#code-error').innerText()),
              `${lang}: a wrong security code shows the attempts left next to the field`);
        await visit(page, lang, 'activate-confirm-wrong');
    }
    await type(page, '#code', code, kb);
    await submit(page, w.cont, kb);
    const status = (await page.locator('.success').innerText()).trim();
    check(status === w.done, `${lang}: "${w.done}"`);
    check((await page.locator('main').innerText()).includes(citizen.username), `${lang}: the success page names the username`);
    await visit(page, lang, 'activate-done');
    resp = await page.reload();
    check(resp.status() === 200 && (await page.locator('.success').innerText()).trim() === w.done,
          `${lang}: a reload still shows the success`);
    await ctx.close();

    // The link is used up: another browser is told so plainly.
    const ctx2 = await browser.newContext({ locale: LOCALES[lang] });
    const page2 = await ctx2.newPage();
    resp = await page2.goto(letter.link);
    check(resp.status() === 410 && (await page2.locator('h1').innerText()).includes(w.expired),
          `${lang}: the used link says it is no longer valid`);
    await visit(page2, lang, 'activate-used');
    await ctx2.close();
}

async function lockout(browser, lang, citizen, letter) {
    const ctx = await browser.newContext({ locale: LOCALES[lang] });
    const page = await ctx.newPage();
    const w = WORDS[lang];
    await page.goto(letter.link);
    for (let i = 0; i < 5; i++) {
        await type(page, '#activation_code', `ZZZZ-ZZZZ-ZZZ${i}`);
        await submit(page, w.next);
    }
    check((await page.locator('h1').innerText()).includes(w.locked), `${lang}: exhausted attempts lock the link, plainly`);
    await visit(page, lang, 'activate-locked');
    const resp = await page.goto(letter.link);
    check(resp.status() === 423, `${lang}: the locked link stays locked (423)`);
    // Even the right code is refused now.
    await ctx.close();
}

async function main() {
    const browser = await chromium.launch({
        executablePath: chromiumPath,
        headless: true,
        args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
    });
    const run = crypto.randomBytes(4).toString('hex');
    try {
        // The checker itself: axe must see a field without a label.
        const probe = await browser.newPage();
        await probe.setContent('<!DOCTYPE html><html lang="en"><title>t</title><main><h1>t</h1><input type="text"></main></html>');
        await probe.evaluate(axeSource);
        const seen = await probe.evaluate(async () => (await axe.run(document)).violations.map((v) => v.id));
        check(seen.includes('label'), 'axe reports a field without a label');
        await probe.close();

        const langs = ['fr', 'nl', 'de', 'en'];
        for (const [i, lang] of langs.entries()) {
            const citizen = {
                nrn: nationalNumber(85, 7, 10 + i, 100 + i),
                birth: `1985-07-${10 + i}`,
                first: i === 0 ? 'Amélie' : `Test${lang}`,
                last: i === 0 ? "D'Hondt <Dupont>" : `Citizen-${lang}`,
                doc: `EP${run}${i}`,
                email: `citizen-${lang}-${run}@example.be`,
                username: `citizen.${lang}.${run}`,
            };
            const letter = await register(browser, lang, citizen, { pages: true, invalid: lang === 'fr' });
            await activate(browser, lang, citizen, letter, {
                failures: lang === 'fr',
                keyboard: lang === 'en',
            });
        }
        // A link locked by wrong codes.
        const locked = {
            nrn: nationalNumber(85, 8, 1, 200), birth: '1985-08-01', first: 'Lock', last: 'Out',
            doc: `EP${run}L`, email: `locked-${run}@example.be`, username: `locked.${run}`,
        };
        await lockout(browser, 'fr', locked, await register(browser, 'fr', locked));

        // The desk without an authenticated officer: refused, never an
        // open registration form.
        for (const lang of langs) {
            const ctx = await browser.newContext({
                locale: LOCALES[lang], extraHTTPHeaders: { 'X-Test-No-Officer': '1' },
            });
            const page = await ctx.newPage();
            const resp = await page.goto(`${base}/csam/registration`);
            check(resp.status() === 403 && await page.locator('form').count() === 0,
                  `${lang}: no officer, no registration form (403)`);
            await visit(page, lang, 'registration-no-officer');
            const post = await ctx.request.post(`${base}/csam/registration`, {
                form: { national_number: '85.07.30-033.28' }, maxRedirects: 0,
            });
            check(post.status() === 403, `${lang}: no officer, no registration (403)`);
            await ctx.close();
        }

        // A link of the wrong shape and an unknown one: same plain answer,
        // in the browser's language.
        for (const lang of langs) {
            const ctx = await browser.newContext({ locale: LOCALES[lang] });
            const page = await ctx.newPage();
            const resp = await page.goto(`${base}/csam/activate?t=${'x'.repeat(43)}`);
            check(resp.status() === 410 && (await page.getAttribute('html', 'lang')) === lang,
                  `${lang}: an unknown link is answered 410 in the browser's language`);
            await visit(page, lang, 'activate-unknown');
            await ctx.close();
        }
    } finally {
        await browser.close();
    }
    // The pages' own warnings (a text missing from a messages.txt, a
    // template that does not render) are failures too.
    const log = fs.readFileSync(env('CSAM_TEST_HTTPD_ERROR_LOG'), 'utf8').split('\n');
    // (CSAM00511, the desk reached without an officer, is expected above.)
    const warned = log.filter((l) => /CSAM005\d\d/.test(l) && !/:info\]/.test(l) && !/CSAM00511/.test(l));
    for (const l of warned) console.log(`# ${l}`);
    check(warned.length === 0, 'the pages logged no warning');
    for (const lang of ['fr', 'nl', 'de', 'en']) {
        const n = [...axeChecked].filter((k) => k.startsWith(`${lang}:`)).length;
        check(n >= 8, `${lang}: axe ran on ${n} pages`);
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
    process.exit(1);
});
