// Sends the survey upload form with XMLHttpRequest, so that the page can
// show the file's transfer and then its reading by the server in one
// progress bar: the first half of the bar is the transfer, the second the
// ingestion job's progress, polled from the batch. When the batch is read
// the page's batch, problem, quality and submit sections are fetched again
// and swapped in. Without this script the form posts as usual and the
// server redirects back to the page. Texts come from the form's data-msg-*
// attributes, in the page's language; no inline script runs, as the
// pages' Content-Security-Policy requires.
(function () {
  'use strict';
  var form = document.getElementById('upload-form');
  if (!form || !window.XMLHttpRequest || !window.FormData || !window.fetch) {
    return;
  }
  var box = form.querySelector('.progress');
  var bar = box.querySelector('progress');
  var text = box.querySelector('.progress-text');
  var button = form.querySelector('button[type="submit"]');
  var en = document.documentElement.lang === 'en';
  var done = { valid: true, invalid: true, failed: true, withdrawn: true, replaced: true };
  var pollEvery = 400;

  function msg(key) {
    return form.getAttribute('data-msg-' + key) || '';
  }

  function show(value, message, state) {
    box.hidden = false;
    bar.value = Math.max(0, Math.min(bar.max, value));
    text.textContent = message;
    box.setAttribute('data-state', state);
  }

  // problemText reads a problem document (RFC 9457, Chinese beside
  // English) into one line in the page's language.
  function problemText(xhr) {
    var p;
    try {
      p = JSON.parse(xhr.responseText);
    } catch (e) {
      return xhr.status ? String(xhr.status) : '';
    }
    var parts = [en ? (p.detail || p.title) : (p.detail_zh || p.detail || p.title_zh)];
    (p.errors || []).forEach(function (fe) {
      parts.push(en ? fe.message_en : fe.message);
    });
    return parts.filter(Boolean).join(' ');
  }

  function fail(message) {
    show(0, msg('error') + message, 'error');
    button.disabled = false;
  }

  function finished(b, duplicate) {
    var message = msg(b.status)
      .replace('{rows}', String(b.rows))
      .replace('{problems}', String(b.problem_count));
    if (duplicate) {
      message = msg('duplicate') + ' ' + b.file_name + ' — ' + message;
    }
    show(bar.max, message, b.status);
    return refresh(b.id).then(function () {
      button.disabled = false;
      form.reset();
    });
  }

  // refresh fetches the page, showing the batch, and swaps in its sections
  // that the batch changed.
  function refresh(batchID) {
    var url = form.getAttribute('data-page') + '?batch=' + encodeURIComponent(batchID);
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (resp) {
        if (!resp.ok) {
          throw new Error(String(resp.status));
        }
        return resp.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        ['batches', 'problems', 'quality', 'submit'].forEach(function (id) {
          var now = document.getElementById(id);
          var next = doc.getElementById(id);
          if (now && next) {
            now.replaceWith(document.importNode(next, true));
          }
        });
      })
      .catch(function () {
        window.location.assign(url);
      });
  }

  // poll follows a batch until it is read, the bar going from half to full
  // with its job's progress.
  function poll(id, duplicate) {
    var xhr = new XMLHttpRequest();
    xhr.open('GET', form.getAttribute('data-batch-api') + encodeURIComponent(id));
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.onload = function () {
      if (xhr.status !== 200) {
        fail(problemText(xhr));
        return;
      }
      var b = JSON.parse(xhr.responseText);
      if (done[b.status]) {
        finished(b, duplicate);
        return;
      }
      var pct = b.job ? b.job.progress : 0;
      show(bar.max / 2 + pct * bar.max / 200, msg(b.status === 'queued' ? 'queued' : 'loading') + ' ' + pct + '%', b.status);
      window.setTimeout(function () { poll(id, duplicate); }, pollEvery);
    };
    xhr.onerror = function () { fail(''); };
    xhr.send();
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var data = new FormData(form);
    var xhr = new XMLHttpRequest();
    xhr.open('POST', form.getAttribute('data-api'));
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('X-CSRF-Token', data.get('_csrf'));
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        var pct = Math.round(100 * e.loaded / e.total);
        show(pct * bar.max / 200, msg('sending') + ' ' + pct + '%', 'sending');
      }
    };
    xhr.onload = function () {
      if (xhr.status !== 200 && xhr.status !== 202) {
        fail(problemText(xhr));
        return;
      }
      var b = JSON.parse(xhr.responseText);
      show(bar.max / 2, msg('queued'), 'queued');
      // 200 is the batch that already holds the same file.
      poll(b.id, xhr.status === 200);
    };
    xhr.onerror = function () { fail(''); };
    button.disabled = true;
    show(0, msg('sending'), 'sending');
    xhr.send(data);
  });

  // A batch still being read when the page opens is followed as well.
  var pending = document.querySelector('#batches tr[data-pending]');
  if (pending) {
    show(bar.max / 2, msg('queued'), 'queued');
    button.disabled = true;
    poll(pending.getAttribute('data-batch'), false);
  }
})();
