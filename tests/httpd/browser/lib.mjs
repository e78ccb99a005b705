// SPDX-License-Identifier: Apache-2.0
// Helpers of the browser walks (login.mjs, keytypes.mjs): the environment
// httpd-run gives, TAP-like checks, the Maildir the SMTP server writes, the
// SMS gateway's records, TOTP codes from Debian's oathtool (an
// implementation independent of the module's), the JSON API for setting up
// accounts, screenshots and axe-core.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const env = (name) => {
    const v = process.env[name];
    if (!v) {
        console.error(`${name} is not set (run through tests/lib/httpd-run)`);
        process.exit(99);
    }
    return v;
};

export const base = env('CSAM_TEST_HTTPD_URL');
export const builddir = env('CSAM_BUILDDIR');
const maildir = path.join(env('CSAM_TEST_MAILDIR'), 'new');
const modules = process.env.CSAM_BROWSER_MODULES
    || path.join(builddir, 'tests', 'browser');
export const artifacts = path.join(builddir, 'tests', 'artifacts');
export const chromiumPath = process.env.CSAM_CHROMIUM || '/usr/bin/chromium';
export const LOCALES = { fr: 'fr-BE', nl: 'nl-BE', de: 'de-BE', en: 'en-GB' };

// The npm packages live in the build tree (or where browser.sh installed
// them: CSAM_BROWSER_MODULES), never in the sources.
const require = createRequire(path.join(modules, 'package.json'));
export const { chromium } = require('playwright-core');
export const axeSource = require('axe-core').source;

export const failures = [];
export function check(cond, what) {
    console.log(`${cond ? 'ok' : 'not ok'} - ${what}`);
    if (!cond) failures.push(what);
    return !!cond;
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
    if (/Content-Transfer-Encoding:\s*quoted-printable/i.test(m[1])) return decodeQP(m[2]);
    if (/Content-Transfer-Encoding:\s*base64/i.test(m[1])) return Buffer.from(m[2].replace(/\s+/g, ''), 'base64').toString('utf8');
    return m[2];
}

const seenMail = new Set();
// Wait for the next mail to `to` whose text matches re; returns the match.
export async function nextMail(to, re, what) {
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline) {
        const names = fs.existsSync(maildir) ? fs.readdirSync(maildir).sort() : [];
        for (const name of names) {
            if (seenMail.has(name)) continue;
            const raw = fs.readFileSync(path.join(maildir, name), 'utf8');
            const rcpt = raw.match(/^X-Csam-Envelope-To:\s*(\S+)/mi);
            if (!rcpt || rcpt[1].replace(/[<>]/g, '') !== to) continue;
            const m = textPart(raw).match(re);
            if (m) {
                seenMail.add(name);
                return m;
            }
        }
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`no ${what} mail for ${to} within 15 s`);
}

// Mark every mail so far as seen: later waits see only new ones.
export function skipMail() {
    if (!fs.existsSync(maildir)) return;
    for (const name of fs.readdirSync(maildir)) seenMail.add(name);
}

export const CODE_RE = /(?<!\d)\d{6,8}(?!\d)/;

// ---- SMS and TOTP -----------------------------------------------------------

const seenSms = new Set();
// Wait for the next SMS the gateway (tests/lib/sms_sink.py) received for
// `to` (E.164) whose text matches re; returns the match.
export async function nextSms(to, re, what) {
    const dir = env('CSAM_TEST_SMS_DIR');
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline) {
        for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
            if (seenSms.has(name)) continue;
            const rec = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
            let body;
            try { body = JSON.parse(rec.body); } catch { continue; }
            if (body.to !== to) continue;
            const m = String(body.text).match(re);
            if (m) {
                seenSms.add(name);
                return m;
            }
        }
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`no ${what} SMS for ${to} within 15 s`);
}

// Mark every SMS so far as seen.
export function skipSms() {
    const dir = env('CSAM_TEST_SMS_DIR');
    for (const name of fs.readdirSync(dir)) seenSms.add(name);
}

// The code an authenticator app shows for the base32 secret, `steps` time
// steps from now (oathtool's -N), computed by oathtool.
export function totp(secret, steps = 0) {
    const args = ['--totp', '-b'];
    if (steps) args.push('-N', `now ${steps > 0 ? '+' : '-'} ${Math.abs(steps) * 30} seconds`);
    args.push(secret);
    return execFileSync('oathtool', args, { encoding: 'utf8' }).trim();
}

// ---- accounts, through the JSON API -----------------------------------------

async function api(p, body, auth) {
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (auth) headers.Authorization = `Basic ${Buffer.from(auth).toString('base64')}`;
    const r = await fetch(`${base}/csam/api/v1/${p}`, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await r.text();
    if (r.status >= 300) throw new Error(`API ${p}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
}

// A valid national register number for a birth date.
export function nationalNumber(yy, mm, dd, seq) {
    const body = `${String(yy).padStart(2, '0')}${String(mm).padStart(2, '0')}${String(dd).padStart(2, '0')}${String(seq).padStart(3, '0')}`;
    const c = 97 - (Number(body) % 97);
    return `${body}${String(c).padStart(2, '0')}`;
}

// Register a citizen at the desk, through the API: the paper code and the
// link's token.
export async function register(c) {
    const reg = await api('registrations', {
        national_number: c.nrn, first_name: c.first, last_name: c.last, birth_date: c.birth,
        document: { type: 'passport', number: c.doc }, email: c.email, language: c.lang,
    }, 'officer:officer');
    const token = (await nextMail(c.email, /\/csam\/activate\?t=([A-Za-z0-9_-]{43})/, 'activation'))[1];
    return { code: reg.activation_code, token };
}

// Register and activate a citizen with the e-mail key: the pages under
// test start after this.
export async function enrol(c) {
    const { code: activationCode, token } = await register(c);
    const reg = { activation_code: activationCode };
    const { activation } = await api('activation', { token, activation_code: reg.activation_code });
    await api('activation/key', { activation, key_type: 'email', accept_terms: true });
    await api('activation/credentials', {
        activation, username: c.username, password: c.password, password_repeat: c.password,
    });
    const code = (await nextMail(c.email, CODE_RE, 'confirmation code'))[0];
    await api('activation/confirm', { activation, code });
}

// ---- pages -----------------------------------------------------------------

let shot = 0;
export async function screenshot(page, prefix, lang, step) {
    shot += 1;
    const file = path.join(artifacts, `${prefix}-${String(shot).padStart(2, '0')}-${lang}-${step}.png`);
    await page.screenshot({ path: file, fullPage: true });
}

export const axeChecked = new Set();
// axe-core on the page as it stands; any violation fails the test.
export async function axe(page, lang, step) {
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

// Move the focus with Tab alone until selector has it, and check that
// the focus shows (WCAG 2.4.7).  Returns whether it showed.
export async function tabTo(page, selector) {
    for (let i = 0; i < 60; i++) {
        const visible = await page.locator(selector).first().evaluate((el) => {
            if (el !== document.activeElement) return null;
            const cs = getComputedStyle(el);
            return (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2) || cs.boxShadow !== 'none';
        });
        if (visible !== null) return visible;
        await page.keyboard.press('Tab');
    }
    throw new Error(`${selector} cannot be reached with the Tab key`);
}

// Type into a field as a person does: click it, or with keyboard tab to
// it; then type.
export async function type(page, selector, text, keyboard) {
    const field = page.locator(selector);
    if (keyboard) {
        await tabTo(page, selector);
    } else {
        await field.click();
    }
    await field.press('Control+a');
    await page.keyboard.type(text);
}

// Press the submit button named `name` (by mouse, or with keyboard by Tab
// and Enter) and wait for the page it leads to.
export async function submit(page, name, keyboard) {
    const wait = page.waitForNavigation();
    if (keyboard) {
        await tabTo(page, `button:text-is("${name}")`);
        await page.keyboard.press('Enter');
    } else {
        await page.getByRole('button', { name, exact: true }).click();
    }
    return wait;
}

export async function launch() {
    fs.mkdirSync(artifacts, { recursive: true });
    return chromium.launch({
        executablePath: chromiumPath,
        headless: true,
        args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
    });
}
