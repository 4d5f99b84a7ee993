// Entry point of a worker-only process: the same as `ROLE=worker npm start`.
import { run } from '../src/main';

run('worker');
