// As the SmartID web-portal guide says: call personalization_raw() on page
// load and put the result (or an empty string) in the hidden input.
window.addEventListener("load", function () {
  var smartidData = personalization_raw();
  document.getElementById("smartid-data").value = smartidData || "";
});
