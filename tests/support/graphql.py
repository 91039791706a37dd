"""GraphQL documents used across the test layers (the way a frontend writes them)."""

IMAGE_FIELDS = """
  id ownerId title description tags status filename contentType sizeBytes
  width height checksumSha256 createdAt updatedAt deletedAt url
  thumbnail { name width height contentType sizeBytes url }
  variants { name width height contentType sizeBytes url }
  metadata { cameraMake cameraModel takenAt }
"""

CREATE_UPLOAD = (
    """
mutation Create($input: CreateImageUploadInput!) {
  createImageUpload(input: $input) {
    image { %s }
    upload { url fields { name value } expiresAt maxSizeBytes }
    userErrors { field message code }
  }
}
"""
    % IMAGE_FIELDS
)

COMPLETE_UPLOAD = (
    """
mutation Complete($id: ID!) {
  completeImageUpload(id: $id) {
    image { %s }
    userErrors { field message code }
  }
}
"""
    % IMAGE_FIELDS
)

IMAGE = "query Image($id: ID!) { image(id: $id) { %s } }" % IMAGE_FIELDS

NODE = "query Node($id: ID!) { node(id: $id) { id ... on Image { status ownerId } } }"

UPDATE_IMAGE = (
    """
mutation Update($id: ID!, $input: UpdateImageInput!) {
  updateImage(id: $id, input: $input) { image { %s } userErrors { field message code } }
}
"""
    % IMAGE_FIELDS
)

DELETE_IMAGE = (
    "mutation Delete($id: ID!) { deleteImage(id: $id) { image { id status deletedAt } "
    "userErrors { field message code } } }"
)

RESTORE_IMAGE = (
    "mutation Restore($id: ID!) { restoreImage(id: $id) { image { id status variants { name } } "
    "userErrors { field message code } } }"
)
