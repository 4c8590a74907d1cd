// A stand-in for the SmartID browser SDK's personalization_raw(): the real
// SDK returns an encrypted device payload; this returns a base64 string of
// a few browser properties so the demo has something to carry. Replace this
// file with the SDK from your SmartID onboarding.
function personalization_raw() {
  try {
    var info = [navigator.userAgent, navigator.language, screen.width + "x" + screen.height,
      new Date().getTimezoneOffset()].join("|");
    return btoa(unescape(encodeURIComponent(info)));
  } catch (e) {
    return "";
  }
}
