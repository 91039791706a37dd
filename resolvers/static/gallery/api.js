// The GraphQL client of the gallery: one POST per operation, bearer token, and the
// schema features this server offers (fields other releases may not have yet).

const ENDPOINT = "/graphql";

export class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((error) => error.message).join("; "));
    this.errors = errors;
  }
}

export function createClient(token) {
  async function request(query, variables = {}) {
    const response = await fetch(ENDPOINT, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json();
    if (body.errors?.length) throw new GraphQLError(body.errors);
    return body.data;
  }
  return { request };
}

/** Which optional Image fields the schema has: layout fields and per-format variants. */
export async function discoverFeatures(client) {
  const features = { aspectRatio: false, placeholder: false, dominantColor: false, formats: [] };
  try {
    const data = await client.request(`{
      image: __type(name: "Image") { fields { name args { name } } }
      format: __type(name: "ImageFormat") { enumValues { name } }
    }`);
    const fields = new Map((data.image?.fields ?? []).map((field) => [field.name, field]));
    features.aspectRatio = fields.has("aspectRatio");
    features.placeholder = fields.has("placeholder");
    features.dominantColor = fields.has("dominantColor");
    const variants = fields.get("variants");
    if (variants?.args.some((arg) => arg.name === "format")) {
      const values = (data.format?.enumValues ?? []).map((value) => value.name);
      features.formats = ["AVIF", "WEBP"].filter((name) => values.includes(name));
    }
  } catch {
    // Introspection off (production): the plain JPEG gallery still works.
  }
  return features;
}

export function imageFields(features) {
  const optional = ["aspectRatio", "placeholder", "dominantColor"].filter((name) => features[name]);
  const formats = features.formats
    .map((format) => `${format.toLowerCase()}: variants(format: ${format}) { width url }`)
    .join("\n");
  return `
    id ownerId title tags status width height createdAt deletedAt ${optional.join(" ")}
    thumbnail { width height url }
    variants { name width height url }
    ${formats}
  `;
}

export function pageQuery(features) {
  return `query Page($filter: ImageFilter, $after: String, $first: Int) {
    images(filter: $filter, first: $first, after: $after) {
      edges { cursor node { ${imageFields(features)} } }
      pageInfo { hasNextPage endCursor }
    }
  }`;
}

export function completeMutation(features) {
  return `mutation Complete($id: ID!) {
    completeImageUpload(id: $id) {
      image { ${imageFields(features)} }
      userErrors { field message code }
    }
  }`;
}

export const CREATE_UPLOAD = `mutation Create($input: CreateImageUploadInput!) {
  createImageUpload(input: $input) {
    image { id status }
    upload { url fields { name value } maxSizeBytes }
    userErrors { field message code }
  }
}`;

export const DELETE_IMAGE = `mutation Delete($id: ID!) {
  deleteImage(id: $id) { image { id status } userErrors { message code } }
}`;

export const RESTORE_IMAGE = `mutation Restore($id: ID!) {
  restoreImage(id: $id) { image { id status } userErrors { message code } }
}`;

/** The `sub` of a JWT (only to say who is signed in; the server verifies the token). */
export function tokenSubject(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)).sub ?? null;
  } catch {
    return null;
  }
}
