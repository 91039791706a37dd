// One photo's way in: reserve (createImageUpload), POST the bytes straight to S3 with
// the presigned form (XHR, for upload progress events), then completeImageUpload.

import { CREATE_UPLOAD, completeMutation, imageFields } from "./api.js";

const POLL_MS = 1000;
const POLL_LIMIT = 60;

export class UploadError extends Error {}

function postForm(url, fields, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const { name, value } of fields) form.append(name, value);
    form.append("file", file); // S3 ignores every field after the file: it goes last
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(new UploadError(`S3 refused the upload (HTTP ${xhr.status})`));
    });
    xhr.addEventListener("error", () => reject(new UploadError("network error during upload")));
    xhr.send(form);
  });
}

function firstError(payload) {
  const error = payload.userErrors?.[0];
  return error ? new UploadError(`${error.code}: ${error.message}`) : null;
}

/**
 * Upload one file; `onState(state, fraction)` reports "reserving", "uploading" (with
 * progress 0..1), "processing", then resolves with the processed image.
 */
export async function uploadPhoto(client, features, file, onState) {
  onState("reserving", 0);
  const created = (
    await client.request(CREATE_UPLOAD, {
      input: {
        filename: file.name,
        contentType: file.type || "application/octet-stream",
        sizeBytes: file.size,
        title: file.name.replace(/\.[^.]+$/, ""),
      },
    })
  ).createImageUpload;
  const refused = firstError(created);
  if (refused) throw refused;
  await postForm(created.upload.url, created.upload.fields, file, (fraction) =>
    onState("uploading", fraction),
  );
  onState("processing", 1);
  const completed = (
    await client.request(completeMutation(features), { id: created.image.id })
  ).completeImageUpload;
  const rejected = firstError(completed);
  if (rejected) throw rejected;
  return waitUntilProcessed(client, features, completed.image);
}

/** Another invocation may still be processing it (S3 event first): ask until it is done. */
async function waitUntilProcessed(client, features, image) {
  const query = `query Image($id: ID!) { image(id: $id) { ${imageFields(features)} } }`;
  let current = image;
  for (let attempt = 0; current?.status === "PROCESSING" && attempt < POLL_LIMIT; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    current = (await client.request(query, { id: image.id })).image;
  }
  if (current?.status === "REJECTED") throw new UploadError("REJECTED: the file could not be processed");
  return current ?? image;
}
