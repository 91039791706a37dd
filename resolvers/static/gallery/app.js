// The gallery page: token, uploads, an infinite-scroll grid (cursor pagination), tag
// filter, trash with restore. Plain ES modules; nothing loads from another origin but
// the image URLs the API hands out.

import {
  DELETE_IMAGE,
  RESTORE_IMAGE,
  createClient,
  discoverFeatures,
  pageQuery,
  tokenSubject,
} from "./api.js";
import { uploadPhoto } from "./upload.js";

// Blurred previews need the vendored ThumbHash decoder; without it, dominant colours only.
const thumbhash = await import("/static/vendor/thumbhash@0.1.1/thumbhash.js").catch(() => null);

const PAGE_SIZE = 20;
const TOKEN_KEY = "picgraph.token";
const SIZES = "(max-width: 480px) 100vw, (max-width: 960px) 50vw, 25vw";

const $ = (selector) => document.querySelector(selector);

const state = {
  client: null,
  features: null,
  viewer: null,
  view: "gallery", // or "trash"
  tag: null,
  after: null,
  hasNextPage: true,
  loading: false,
  generation: 0, // bumps when the listing restarts, so stale pages are dropped
};

function takeTokenFromUrl() {
  // `make dev` prints http://127.0.0.1:8000/#token=...: the fragment never reaches a server.
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return decodeURIComponent(match[1]);
}

function srcset(variants) {
  return variants.map((variant) => `${variant.url} ${variant.width}w`).join(", ");
}

function placeholderUrl(placeholder) {
  if (!thumbhash) return null;
  try {
    const bytes = Uint8Array.from(atob(placeholder), (char) => char.charCodeAt(0));
    return thumbhash.thumbHashToDataURL(bytes);
  } catch {
    return null;
  }
}

function renderCard(image) {
  const card = document.createElement("li");
  card.className = "card";
  card.dataset.id = image.id;
  card.dataset.status = image.status;
  const figure = document.createElement("figure");
  figure.style.margin = "0";
  const frame = document.createElement("div");
  frame.className = "frame";
  const ratio = image.aspectRatio ?? (image.width && image.height ? image.width / image.height : null);
  if (ratio) frame.style.setProperty("--ratio", String(ratio));
  if (image.dominantColor) frame.style.setProperty("--color", image.dominantColor);
  if (image.placeholder) {
    const preview = placeholderUrl(image.placeholder);
    if (preview) frame.style.backgroundImage = `url("${preview}")`;
  }
  if (image.variants?.length) {
    const picture = document.createElement("picture");
    for (const [format, type] of [["avif", "image/avif"], ["webp", "image/webp"]]) {
      if (!image[format]?.length) continue;
      const source = document.createElement("source");
      source.type = type;
      source.srcset = srcset(image[format]);
      source.sizes = SIZES;
      picture.append(source);
    }
    const img = document.createElement("img");
    img.alt = image.title ?? "";
    img.decoding = "async";
    img.loading = "lazy";
    img.width = image.thumbnail.width;
    img.height = image.thumbnail.height;
    img.srcset = srcset(image.variants);
    img.sizes = SIZES;
    img.src = image.thumbnail.url;
    // A rendition that fails to load leaves the preview in place, not a broken icon.
    img.addEventListener("error", () => {
      img.style.visibility = "hidden";
    });
    picture.append(img);
    frame.append(picture);
  }
  const caption = document.createElement("figcaption");
  const title = document.createElement("span");
  title.textContent = image.title ?? image.id;
  const tags = document.createElement("span");
  tags.className = "tags";
  tags.textContent = image.tags.map((tag) => `#${tag}`).join(" ");
  caption.append(title, tags);
  if (image.status !== "READY") {
    const badge = document.createElement("span");
    badge.className = "state";
    badge.textContent = image.status;
    caption.append(badge);
  }
  if (image.ownerId === state.viewer) {
    const action = document.createElement("button");
    action.type = "button";
    action.className = image.status === "DELETED" ? "restore" : "delete";
    action.textContent = image.status === "DELETED" ? "Restore" : "Delete";
    action.addEventListener("click", () => changeImage(card, image, action));
    caption.append(action);
  }
  figure.append(frame, caption);
  card.append(figure);
  return card;
}

async function changeImage(card, image, button) {
  button.disabled = true;
  const restoring = image.status === "DELETED";
  try {
    const data = await state.client.request(restoring ? RESTORE_IMAGE : DELETE_IMAGE, { id: image.id });
    const payload = restoring ? data.restoreImage : data.deleteImage;
    if (payload.userErrors.length) throw new Error(payload.userErrors[0].message);
    card.remove();
    setStatus(restoring ? "Restored: back in the gallery." : "Moved to the trash.");
  } catch (error) {
    button.disabled = false;
    setStatus(`Could not ${restoring ? "restore" : "delete"}: ${error.message}`);
  }
}

function setStatus(text) {
  $("#status").textContent = text;
}

function currentFilter() {
  if (state.view === "trash") return { ownerId: state.viewer, status: "DELETED" };
  return state.tag ? { tags: [state.tag] } : null;
}

async function loadNextPage() {
  if (state.loading || !state.hasNextPage) return;
  state.loading = true;
  const generation = state.generation;
  setStatus("Loading…");
  try {
    const data = await state.client.request(pageQuery(state.features), {
      filter: currentFilter(),
      after: state.after,
      first: PAGE_SIZE,
    });
    if (generation !== state.generation) return;
    const { edges, pageInfo } = data.images;
    const grid = $("#grid");
    for (const { node } of edges) grid.append(renderCard(node));
    state.after = pageInfo.endCursor;
    state.hasNextPage = pageInfo.hasNextPage;
    grid.dataset.pages = String(Number(grid.dataset.pages ?? 0) + 1);
    const count = grid.children.length;
    setStatus(count ? `${count} image${count === 1 ? "" : "s"}${state.hasNextPage ? "" : " (all)"}` : "No images yet.");
  } catch (error) {
    setStatus(`Could not load images: ${error.message}`);
  } finally {
    if (generation === state.generation) state.loading = false;
  }
  if (generation === state.generation) observeSentinel();
}

function restartListing() {
  state.generation += 1;
  state.after = null;
  state.hasNextPage = true;
  state.loading = false;
  const grid = $("#grid");
  grid.replaceChildren();
  grid.dataset.pages = "0";
  loadNextPage();
}

let observer = null;
function observeSentinel() {
  // Re-armed after each page: if the sentinel is still in view, the next page loads.
  observer?.disconnect();
  if (!state.hasNextPage) return;
  observer = new IntersectionObserver(
    (entries) => {
      if (entries.some((entry) => entry.isIntersecting)) loadNextPage();
    },
    { rootMargin: "200px" },
  );
  observer.observe($("#sentinel"));
}

function renderUploadRow(file) {
  const row = document.createElement("li");
  const name = document.createElement("span");
  name.textContent = file.name;
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.value = 0;
  const label = document.createElement("span");
  label.textContent = "waiting";
  row.append(name, bar, label);
  $("#uploads").append(row);
  return { row, bar, label };
}

async function uploadFiles(files) {
  await Promise.all(
    [...files].map(async (file) => {
      const { row, bar, label } = renderUploadRow(file);
      try {
        const image = await uploadPhoto(state.client, state.features, file, (phase, fraction) => {
          bar.value = fraction;
          label.textContent = phase === "uploading" ? `uploading ${Math.round(fraction * 100)} %` : phase;
        });
        label.textContent = image.status === "READY" ? "ready" : image.status.toLowerCase();
        if (state.view === "gallery" && !state.tag) $("#grid").prepend(renderCard(image));
        setTimeout(() => row.remove(), 4000);
      } catch (error) {
        label.textContent = error.message;
        label.className = "failed";
      }
    }),
  );
}

function switchView(view) {
  state.view = view;
  $("#view-gallery").setAttribute("aria-pressed", String(view === "gallery"));
  $("#view-trash").setAttribute("aria-pressed", String(view === "trash"));
  restartListing();
}

async function start(token) {
  state.client = createClient(token);
  state.viewer = tokenSubject(token);
  state.features = await discoverFeatures(state.client);
  $("#signin").hidden = true;
  $("#app").hidden = false;
  $("#viewer").textContent = state.viewer ? `signed in as ${state.viewer}` : "";
  restartListing();
}

function showSignIn() {
  $("#signin").hidden = false;
  $("#app").hidden = true;
}

function main() {
  const fromUrl = takeTokenFromUrl();
  if (fromUrl) localStorage.setItem(TOKEN_KEY, fromUrl);
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("#token-input").value.trim().replace(/^Bearer\s+/i, "");
    localStorage.setItem(TOKEN_KEY, token);
    start(token);
  });
  $("#sign-out").addEventListener("click", () => {
    localStorage.removeItem(TOKEN_KEY);
    showSignIn();
  });
  $("#file-input").addEventListener("change", (event) => {
    uploadFiles(event.target.files);
    event.target.value = "";
  });
  $("#filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.tag = $("#tag-input").value.trim() || null;
    restartListing();
  });
  $("#clear-filter").addEventListener("click", () => {
    $("#tag-input").value = "";
    state.tag = null;
    restartListing();
  });
  $("#view-gallery").addEventListener("click", () => switchView("gallery"));
  $("#view-trash").addEventListener("click", () => switchView("trash"));
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) start(token);
  else showSignIn();
}

main();
