// The copy button of the show-once token page. The page works without it:
// the token is in a read-only field that can be selected by hand.
document.querySelectorAll('button[data-copy]').forEach(function (button) {
  var field = document.getElementById(button.getAttribute('data-copy'));
  button.hidden = false;
  button.addEventListener('click', function () {
    field.select();
    navigator.clipboard.writeText(field.value).then(
      function () { button.textContent = 'Copied'; },
      function () { button.textContent = 'Press Ctrl+C'; }
    );
  });
});
