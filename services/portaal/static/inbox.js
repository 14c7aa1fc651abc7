// The live inbox: new matches and changes arrive over Server-Sent Events (the browser resumes
// with Last-Event-ID after a drop). Without JavaScript the page is a plain list with a reload link.
"use strict";
(function () {
  var tabel = document.getElementById("matches");
  var live = document.getElementById("live-melding");
  if (!tabel || !window.EventSource) { return; }
  var body = tabel.querySelector("tbody");
  var leeg = document.getElementById("geen-matches");

  function cel(tekst) {
    var td = document.createElement("td");
    td.className = "utrecht-table__cell";
    td.textContent = tekst;
    return td;
  }

  function toon(m) {
    var rij = document.getElementById("match-" + m.match_id);
    var nieuw = !rij;
    if (nieuw) { rij = document.createElement("tr"); rij.id = "match-" + m.match_id; }
    rij.className = "utrecht-table__row" + (m.nieuw ? " zvh-nieuw" : "");
    while (rij.firstChild) { rij.removeChild(rij.firstChild); }
    var eerste = document.createElement("td");
    eerste.className = "utrecht-table__cell";
    var a = document.createElement("a");
    a.className = "utrecht-link";
    a.href = "/matches/" + encodeURIComponent(m.match_id);
    a.textContent = m.referentie;
    eerste.appendChild(a);
    rij.appendChild(eerste);
    rij.appendChild(cel(m.andere_regio));
    rij.appendChild(cel(m.zekerheid));
    var st = cel(m.status);
    st.className += " zvh-status";
    rij.appendChild(st);
    rij.appendChild(cel(m.procesregisseur));
    if (nieuw) {
      body.insertBefore(rij, body.firstChild);
      if (leeg) { leeg.hidden = true; }
      if (m.nieuw) { live.textContent = "Nieuwe match " + m.referentie + " met regio " + m.andere_regio + "."; }
    }
  }

  // From the feed position the page was rendered at; after a drop the browser resumes by itself.
  var bron = new EventSource("/inbox/stroom?vanaf=" + encodeURIComponent(tabel.getAttribute("data-vanaf") || ""));
  bron.addEventListener("match", function (e) { toon(JSON.parse(e.data)); });
  bron.addEventListener("open", function () { tabel.setAttribute("data-live", "verbonden"); });
})();
