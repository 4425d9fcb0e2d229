import { generateKeyPairSync, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
const N=2000;
let t=performance.now();
for(let i=0;i<N;i++){generateKeyPairSync('ed25519');}
console.log('plain', ((performance.now()-t)*1000/N).toFixed(1),'us');
t=performance.now();
for(let i=0;i<N;i++){const der=generateKeyPairSync('ed25519',{privateKeyEncoding:{type:'pkcs8',format:'der'},publicKeyEncoding:{type:'spki',format:'der'}}).privateKey;const k=createPrivateKey({key:der,format:'der',type:'pkcs8'});createPublicKey(k);}
console.log('der+import', ((performance.now()-t)*1000/N).toFixed(1),'us');
const prefix=Buffer.from('302e020100300506032b657004220420','hex');
t=performance.now();
for(let i=0;i<N;i++){const k=createPrivateKey({key:Buffer.concat([prefix,randomBytes(32)]),format:'der',type:'pkcs8'});createPublicKey(k);}
console.log('seed import', ((performance.now()-t)*1000/N).toFixed(1),'us');
