// Tailor (node-tailor, pinned in package-lock.json) composing the benchmark's page from the stub on
// 127.0.0.1:9100: /index (templates/index.html) and /slow (20 ms fragments). Started by anchors.sh.
const http = require('http');
const Tailor = require('node-tailor');
const tailor = new Tailor({ templatesPath: __dirname + '/templates' });
http.createServer(tailor.requestHandler).listen(9200, '127.0.0.1');
