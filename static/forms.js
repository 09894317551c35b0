// After a refused form, take the keyboard to the first field to correct: the summary above the
// form (role="alert") is announced, and the field's own error is read with it through its
// aria-describedby. Pages work the same without this script, only without the focus move.
document.addEventListener('DOMContentLoaded', function () {
  var first = document.querySelector('form [aria-invalid="true"]');
  if (first && typeof first.focus === 'function') {
    first.focus();
  }
});
