// The parts of the AWS SDK the server uses (log archive, job files), and the only module of src/ that imports it. The build
// bundles this module in place with what it reaches and nothing else, as it does the Kubernetes client
// (decision 0013): about 10 MB less memory than loading the SDK's packages.
export {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
export { getSignedUrl } from '@aws-sdk/s3-request-presigner';
