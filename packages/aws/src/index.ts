export { createDynamoHeartbeats, createDynamoStore, type DynamoStoreOptions } from './dynamo-store.js';
export { isTransientAwsError, mapAwsError } from './errors.js';
export {
  createSqsQueue,
  type RedriveOptions,
  redriveDlq,
  type SqsJobQueue,
  type SqsQueueOptions,
} from './sqs-queue.js';
export {
  DATA_TABLE,
  INCIDENTS_TABLE,
  keys,
  type TableNames,
  tableDefinitions,
} from './tables.js';
