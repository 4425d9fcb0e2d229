import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { pkcs11FromEnv, pkcs11FromTeleportConfig, resolvePkcs11Config } from '../../src/keys/pkcs11-config.js';

const yaml = (s: string) => pkcs11FromTeleportConfig(parse(s), 'teleport.yaml');

test('teleport.yaml auth_service.ca_key_params.pkcs11 is read with Teleport\'s key names', () => {
  const f = yaml(`
auth_service:
  cluster_name: example.com
  ca_key_params:
    pkcs11:
      module_path: /usr/lib/softhsm/libsofthsm2.so
      token_label: hsm1
      pin_path: /etc/tctl/pin
`);
  assert.deepEqual(resolvePkcs11Config(f, undefined), { modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'hsm1', slotNumber: undefined, pin: undefined, pinPath: '/etc/tctl/pin' });
  const s = yaml('auth_service: {ca_key_params: {pkcs11: {module_path: /m.so, slot_number: 0, pin: 1234}}}');
  assert.deepEqual(resolvePkcs11Config(s, undefined), { modulePath: '/m.so', tokenLabel: undefined, slotNumber: 0, pin: '1234', pinPath: undefined });
  assert.equal(yaml('auth_service: {cluster_name: example.com}'), undefined);
  assert.equal(resolvePkcs11Config(undefined, undefined), undefined);
});

test('the environment overrides the file, key by key, and never carries a PIN itself', () => {
  const f = yaml('auth_service: {ca_key_params: {pkcs11: {module_path: /m.so, token_label: a, pin: "1"}}}');
  const e = pkcs11FromEnv({ TCTL_PKCS11_SLOT: '3', TCTL_PKCS11_PIN_FILE: '/run/pin', TCTL_PKCS11_PIN: 'ignored' });
  assert.deepEqual(resolvePkcs11Config(f, e), { modulePath: '/m.so', tokenLabel: undefined, slotNumber: 3, pin: undefined, pinPath: '/run/pin' });
  assert.deepEqual(resolvePkcs11Config(undefined, pkcs11FromEnv({ TCTL_PKCS11_MODULE: '/x.so', TCTL_PKCS11_TOKEN_LABEL: 't', TCTL_PKCS11_PIN_FILE: '/p' })), {
    modulePath: '/x.so', tokenLabel: 't', slotNumber: undefined, pin: undefined, pinPath: '/p',
  });
  assert.equal(pkcs11FromEnv({ TCTL_PKCS11_MODULE: '' }), undefined);
});

test('bad pkcs11 settings are refused with the key named', () => {
  const bad: [string, RegExp][] = [
    ['{module_path: /m.so, token_label: a, pin: "1", pn: x}', /unknown key auth_service\.ca_key_params\.pkcs11\.pn/],
    ['{module_path: "", token_label: a, pin: "1"}', /pkcs11\.module_path must be a non-empty string/],
    ['{module_path: /m.so, slot_number: -1, pin: "1"}', /slot_number must be a whole number/],
    ['{module_path: /m.so, slot_number: 1.5, pin: "1"}', /slot_number must be a whole number/],
    ['{module_path: /m.so, slot_number: 1e300, pin: "1"}', /slot_number must be a whole number/],
    ['{module_path: /m.so, token_label: "123456789012345678901234567890123", pin: "1"}', /token_label is longer than 32 bytes/],
    ['[1, 2]', /pkcs11 must be a mapping/],
  ];
  for (const [section, message] of bad) assert.throws(() => yaml(`auth_service: {ca_key_params: {pkcs11: ${section}}}`), message, section);
  assert.throws(() => yaml('auth_service: {ca_key_params: {gcp_kms: {keyring: x}}}'), /ca_key_params\.gcp_kms is not supported/);
  const incomplete: [string, RegExp][] = [
    ['{token_label: a, pin: "1"}', /without a module path/],
    ['{module_path: /m.so, pin: "1"}', /exactly one of token_label and slot_number/],
    ['{module_path: /m.so, token_label: a, slot_number: 1, pin: "1"}', /exactly one of token_label and slot_number/],
    ['{module_path: /m.so, token_label: a}', /exactly one of pin and pin_path/],
    ['{module_path: /m.so, token_label: a, pin: "1", pin_path: /p}', /exactly one of pin and pin_path/],
  ];
  for (const [section, message] of incomplete) assert.throws(() => resolvePkcs11Config(yaml(`auth_service: {ca_key_params: {pkcs11: ${section}}}`), undefined), message, section);
  for (const slot of ['x', '-1', '1.0', '99999999999999999']) assert.throws(() => pkcs11FromEnv({ TCTL_PKCS11_SLOT: slot }), /TCTL_PKCS11_SLOT must be a whole number/, slot);
});
