//! Real clients (boto3, the AWS CLI) against moto through the proxy: recorded live, replayed offline.
