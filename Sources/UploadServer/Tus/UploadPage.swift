import NIOCore

/// The upload page served at `/`: our own small tus client in the browser, with no
/// dependencies. Pick or drop files; each gets a progress bar and a pause button. An upload's
/// URL is kept in `localStorage` under the file's name, size and modification time, so after a
/// reload or a lost network, picking the same file again continues from the server's offset.
enum UploadPage {
  static var response: HTTPResponse {
    var response = HTTPResponse(.ok, body: ByteBuffer(string: html))
    response.headers.add(name: "content-type", value: "text/html; charset=utf-8")
    response.headers.add(name: "cache-control", value: "no-store")
    response.headers.add(name: "content-security-policy", value: "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
    return response
  }

  static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>uploader</title>
    <style>
      body { font: 15px/1.4 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
      #drop { border: 2px dashed #999; border-radius: 8px; padding: 2rem; text-align: center; margin: 1rem 0; }
      #drop.over { border-color: #36c; background: #f0f4ff; }
      li { list-style: none; margin: .8rem 0; }
      progress { width: 100%; height: 1rem; }
      .line { display: flex; justify-content: space-between; gap: 1rem; }
      .status { color: #555; font-size: 13px; }
      button { font: inherit; }
    </style>
    </head>
    <body>
    <h1>Upload files</h1>
    <p>Files go to this server's object store over tus&nbsp;1.0. If the network drops or the page reloads,
    pick the same file again: it continues from what the server already has.</p>
    <label>Token <input id="token" type="password" autocomplete="off" placeholder="only if the server asks for one"></label>
    <div id="drop">Drop files here, or <input id="files" type="file" multiple></div>
    <ul id="list"></ul>
    <script>
    "use strict";
    const ENDPOINT = new URL("/files/", location.href).href;
    const CHUNK = 8 * 1024 * 1024;
    const tokenInput = document.getElementById("token");
    tokenInput.value = new URLSearchParams(location.search).get("token") || sessionStorage.getItem("token") || "";
    tokenInput.addEventListener("change", () => sessionStorage.setItem("token", tokenInput.value));

    function b64(text) { return btoa(String.fromCharCode(...new TextEncoder().encode(text))); }
    function sleep(ms) { return new Promise(resolve => setTimeout(resolve, ms)); }
    function size(bytes) {
      const units = ["B", "KiB", "MiB", "GiB", "TiB"];
      let i = 0;
      while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++; }
      return (i ? bytes.toFixed(1) : bytes) + " " + units[i];
    }

    class Upload {
      constructor(file) {
        this.file = file;
        this.storageKey = "tus-upload:" + [file.name, file.size, file.lastModified].join(":");
        this.paused = false;
        this.offset = 0;
        this.row = document.createElement("li");
        this.row.dataset.name = file.name;
        this.row.innerHTML = '<div class="line"><span class="name"></span><button>Pause</button></div>' +
          '<progress max="1" value="0"></progress><div class="status"></div>';
        this.row.querySelector(".name").textContent = file.name + " (" + size(file.size) + ")";
        this.bar = this.row.querySelector("progress");
        this.statusLine = this.row.querySelector(".status");
        this.button = this.row.querySelector("button");
        this.button.onclick = () => this.paused ? this.start() : this.pause();
        document.getElementById("list").append(this.row);
      }

      show(state, text) {
        this.row.dataset.state = state;
        this.row.dataset.offset = String(this.offset);
        this.statusLine.textContent = text;
        this.bar.value = this.file.size ? this.offset / this.file.size : 1;
      }

      request(method, url, headers, body) {
        return new Promise((resolve, reject) => {
          const xhr = new XMLHttpRequest();
          this.xhr = xhr;
          xhr.open(method, url);
          xhr.setRequestHeader("Tus-Resumable", "1.0.0");
          if (tokenInput.value) xhr.setRequestHeader("Authorization", "Bearer " + tokenInput.value);
          for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
          if (body) {
            xhr.upload.onprogress = event => {
              this.bar.value = (this.offset + event.loaded) / this.file.size;
            };
          }
          xhr.onload = () => resolve(xhr);
          xhr.onerror = () => reject(new Error("the network failed"));
          xhr.onabort = () => reject(new Error("paused"));
          xhr.send(body || null);
        });
      }

      fail(xhr) {
        const message = (xhr.responseText || "").trim() || ("HTTP " + xhr.status);
        const error = new Error(message);
        error.status = xhr.status;
        return error;
      }

      async create() {
        const metadata = ["filename " + b64(this.file.name)];
        if (this.file.type) metadata.push("filetype " + b64(this.file.type));
        const xhr = await this.request("POST", ENDPOINT, {
          "Upload-Length": String(this.file.size), "Upload-Metadata": metadata.join(","),
        });
        if (xhr.status !== 201) throw this.fail(xhr);
        return new URL(xhr.getResponseHeader("Location"), ENDPOINT).href;
      }

      // The server's offset, or null when it no longer has the upload.
      async head(url) {
        const xhr = await this.request("HEAD", url, {});
        if (xhr.status === 404 || xhr.status === 410) return null;
        if (xhr.status !== 200) throw this.fail(xhr);
        return Number(xhr.getResponseHeader("Upload-Offset"));
      }

      async patch(url) {
        const end = Math.min(this.offset + CHUNK, this.file.size);
        const xhr = await this.request("PATCH", url, {
          "Upload-Offset": String(this.offset), "Content-Type": "application/offset+octet-stream",
        }, this.file.slice(this.offset, end));
        if (xhr.status !== 204) throw this.fail(xhr);
        return Number(xhr.getResponseHeader("Upload-Offset"));
      }

      pause() {
        this.paused = true;
        if (this.xhr) this.xhr.abort();
        this.button.textContent = "Resume";
        this.show("paused", "paused at " + size(this.offset));
      }

      async start() {
        this.paused = false;
        this.button.textContent = "Pause";
        let delay = 500;
        while (!this.paused) {
          try {
            let url = localStorage.getItem(this.storageKey);
            if (url) {
              const offset = await this.head(url);
              if (offset === null) {
                localStorage.removeItem(this.storageKey);
                continue;
              }
              this.offset = offset;
              if (this.row.dataset.resumedAt === undefined) this.row.dataset.resumedAt = String(offset);
            } else {
              url = await this.create();
              localStorage.setItem(this.storageKey, url);
              this.offset = 0;
              this.row.dataset.resumedAt = "0";
            }
            this.show("uploading", "uploading from " + size(this.offset));
            do {
              this.offset = await this.patch(url);
              this.show("uploading", size(this.offset) + " of " + size(this.file.size));
              delay = 500;
            } while (this.offset < this.file.size && !this.paused);
            if (this.offset >= this.file.size) {
              localStorage.removeItem(this.storageKey);
              this.button.remove();
              this.show("done", "done: " + size(this.file.size) + " stored");
              return;
            }
          } catch (error) {
            if (this.paused) return;
            if (error.status && error.status < 500 && error.status !== 409 && error.status !== 423 && error.status !== 429) {
              this.show("failed", "failed: " + error.message);
              return;
            }
            this.show("retrying", error.message + "; retrying in " + (delay / 1000) + " s");
            await sleep(delay);
            delay = Math.min(delay * 2, 8000);
          }
        }
      }
    }

    function add(files) { for (const file of files) new Upload(file).start(); }
    document.getElementById("files").addEventListener("change", event => add(event.target.files));
    const drop = document.getElementById("drop");
    drop.addEventListener("dragover", event => { event.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", event => {
      event.preventDefault();
      drop.classList.remove("over");
      add(event.dataTransfer.files);
    });
    </script>
    </body>
    </html>
    """#
}
