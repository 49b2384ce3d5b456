// Knative's Node.js hello world (knative/docs code-samples/serving/hello-world/helloworld-nodejs),
// written with node:http so it needs no `npm install` to run as a local kedge revision.
import { createServer } from 'node:http';

const target = process.env.TARGET || 'World';
const port = Number(process.env.PORT) || 8080;

const server = createServer((req, res) => {
  console.log('Hello world received a request.');
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`Hello ${target}!\n`);
});

server.listen(port, () => {
  console.log(`helloworld: listening on port ${port}`);
});

// Stop accepting on SIGTERM and let in-flight requests finish, as a Knative container should.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
