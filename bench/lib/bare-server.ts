// The baseline: a bare express route that reads the body and answers 200, nothing else.
import express from 'express';

const app = express();
app.post('/webhooks/whatsapp', express.raw({ type: () => true, limit: '3mb' }), (_req, res) => {
  res.status(200).json({ received: true });
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
