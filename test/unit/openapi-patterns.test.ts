import assert from 'node:assert/strict';
import { BASE64_PATTERN, mediaTypePattern, urlPattern } from '../../openapi/patterns.js';
import { urlRefusal, type UrlPolicy } from '../../src/net/url-guard.js';

/** What the server does with a URL before connecting: undefined when it goes on. */
function refusal(text: string, policy: UrlPolicy): string | undefined {
  try {
    return urlRefusal(new URL(text), policy);
  } catch {
    return 'not a URL';
  }
}

describe('API document patterns: they accept what the server accepts', () => {
  const policy: UrlPolicy = { allowedHosts: ['127.0.0.1', 'Files.Example.org', '::1'], allowPrivateNetworks: true, settings: 'test' };
  const pattern = new RegExp(urlPattern(policy), 'u');

  const accepted = ['http://127.0.0.1', 'HTTPS://files.example.ORG:443/a/b?c=d&e#f', 'http://[::1]:8080/', 'http://127.0.0.1:/x', 'http://127.0.0.1:065535/%20'];
  const refused = ['http://127.0.0.1:65536/', 'ftp://127.0.0.1/', 'http://user:secret@127.0.0.1/', 'http://127.0.0.2/', 'http://files.example.org.evil/', 'file:///etc/passwd', 'urn:x'];
  for (const url of accepted) {
    it(`${url}: the pattern admits it, and the server takes it`, () => {
      assert.ok(pattern.test(url));
      assert.equal(refusal(url, policy), undefined);
    });
  }
  for (const url of refused) {
    it(`${url}: the pattern refuses it, and so does the server`, () => {
      assert.ok(!pattern.test(url));
      assert.notEqual(refusal(url, policy), undefined);
    });
  }

  it('names any host when no host is listed, never credentials or another scheme', () => {
    const open = new RegExp(urlPattern({ allowedHosts: [], allowPrivateNetworks: false, settings: 'test' }), 'u');
    assert.ok(open.test('https://callbacks.example.org/jobs?token=x'));
    assert.ok(!open.test('https://a:b@callbacks.example.org/'));
    assert.ok(!open.test('gopher://callbacks.example.org/'));
  });

  it('takes a media type as the server compares it: any case, parameters and surrounding white space', () => {
    const mediaType = new RegExp(mediaTypePattern(['text/plain', 'text/csv']), 'u');
    for (const accepted of ['text/plain', 'TEXT/CSV', ' text/plain ; charset=utf-8', 'text/csv\u3000']) assert.ok(mediaType.test(accepted), accepted);
    for (const refused of ['text/plainx', 'text/html', 'text/plain x', '']) assert.ok(!mediaType.test(refused), refused);
  });

  it('takes base64 as the server decodes it: white space anywhere, at most two = at the end', () => {
    const base64 = new RegExp(BASE64_PATTERN, 'u');
    for (const accepted of ['aGk=', 'aG k\n=\t=', '']) assert.ok(base64.test(accepted), accepted);
    for (const refused of ['a=b', 'a===', 'aGk-']) assert.ok(!base64.test(refused), refused);
  });
});
