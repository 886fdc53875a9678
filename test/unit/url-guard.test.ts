import assert from 'node:assert/strict';
import { addressRefusal, urlRefusal } from '../../src/net/url-guard.js';

describe('URL guard: which addresses a client\'s URL may make the server reach', () => {
  const closed = { allowedHosts: [], allowPrivateNetworks: false, settings: 'manager.files.href' };
  const open = { allowedHosts: [], allowPrivateNetworks: true, settings: 'manager.files.href' };

  it('refuses the metadata address in every IPv6 form that carries it', () => {
    for (const form of [
      '169.254.169.254',
      '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', // IPv4-mapped
      '::169.254.169.254', '::a9fe:a9fe', // IPv4-compatible
      '64:ff9b::a9fe:a9fe', '64:ff9b::169.254.169.254', // NAT64
      '2002:a9fe:a9fe::1', '2002:A9FE:A9FE:0:0:0:0:1', // 6to4
      '2001:0:4136:e378:8000:63bf:5601:5601', // Teredo: the client address inverted
    ]) assert.match(addressRefusal(form, open) ?? '', /link-local, metadata/, form);
  });

  it('keeps loopback and private addresses, local-use NAT64 included, for operators who allow them', () => {
    for (const form of ['127.0.0.1', '::1', '10.1.2.3', 'fd12::1', '::ffff:10.0.0.1', '2002:0a00:0001::', '64:ff9b:1::a00:1']) {
      assert.match(addressRefusal(form, closed) ?? '', /loopback or private/, form);
      assert.equal(addressRefusal(form, open), undefined, form);
    }
  });

  it('lets public addresses through in each form', () => {
    for (const form of ['93.184.215.14', '2606:4700::1111', '64:ff9b::5db8:d70e', '2002:5db8:d70e::1']) assert.equal(addressRefusal(form, closed), undefined, form);
    assert.match(addressRefusal('::', closed) ?? '', /unspecified/);
  });

  it('compares allowed hosts without regard to case', () => {
    const policy = { allowedHosts: ['Data.Example.ORG'], allowPrivateNetworks: false, settings: 'manager.files.href' };
    assert.equal(urlRefusal(new URL('https://data.example.org/x'), policy), undefined);
    assert.equal(urlRefusal(new URL('https://DATA.example.org/x'), policy), undefined);
    assert.match(urlRefusal(new URL('https://other.example.org/x'), policy) ?? '', /not one of manager\.files\.href\.allowed_hosts/);
  });
});
