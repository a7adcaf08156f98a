// The statement upload: show a busy bar while the server books the file (a 10,000-line
// statement takes a while); the page answers with the counts when it is done.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("bank-upload");
  if (!form) return;
  form.addEventListener("submit", function () {
    document.getElementById("bank-progress").hidden = false;
    form.querySelector("button[type=submit]").disabled = true;
  });
});
