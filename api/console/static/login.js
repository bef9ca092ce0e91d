// The console login form: POST /api/agent/login, then load the console.

var form = document.getElementById('kefu-login');
var error = form.querySelector('.error');
form.addEventListener('submit', function (event) {
  event.preventDefault();
  error.hidden = true;
  var button = form.querySelector('button');
  button.disabled = true;
  fetch('/api/agent/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify({ username: form.username.value.trim(), password: form.password.value })
  }).then(function (response) {
    if (response.ok) { window.location.replace('/agent'); return null; }
    return response.json().then(function (body) {
      error.textContent = (body && body.detail) || '登录失败，请稍后再试。';
      error.hidden = false;
    });
  }).catch(function () {
    error.textContent = '网络异常，请检查连接后重试。';
    error.hidden = false;
  }).finally(function () { button.disabled = false; });
});
